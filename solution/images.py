"""Image preparation for the VQGAN, with Pillow and numpy only (no torchvision).

The baseline (ru-dolph ``image_transform``) is ``convert('RGB')`` ->
``RandomResizedCrop(8 * m, scale=(1, 1), ratio=(1, 1))`` -> ``ToTensor()``. With scale and ratio
pinned to 1 that crop is, for any non-square image, torchvision's fallback: the centred square of side
min(W, H) at ``((W - s) // 2, (H - s) // 2)``, resized with the default BILINEAR filter; ``ToTensor``
divides the uint8 values by 255. :func:`prepare_image` does the same deterministically and defaults to
bilinear. (Two small differences: for nearly square images, where round(sqrt(W * H)) still fits,
the baseline picks the square's offset at random; and ``convert('RGB')`` drops alpha, whereas
:func:`to_rgb` composites transparent images on white.)
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageOps

from fbc2_io.images import open_image

RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,  # the baseline's
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
}

# Modes with more than 8 bits per sample: PIL's convert('RGB') clips them at 255 instead of scaling.
_WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def _wide_to_l(img: Image.Image) -> Image.Image:
    """16/32-bit greyscale -> 8-bit 'L'. I;16 is scaled by 255/65535; 'I' and 'F' likewise when their
    values exceed 255 (16-bit data loaded as 32-bit), otherwise taken as 0..255."""
    a = np.asarray(img, dtype=np.float64)
    if img.mode.startswith("I;16") or (a.size and a.max() > 255):
        a = a * (255.0 / 65535.0)
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))


def _has_alpha(img: Image.Image) -> bool:
    alpha_mode = img.mode in ("RGBA", "LA", "PA", "RGBa")
    return alpha_mode or (img.mode in ("P", "L", "RGB") and "transparency" in img.info)


def to_rgb(img: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """An 8-bit RGB copy of ``img``: transparency is composited on ``background``, 16-bit greyscale
    is scaled (not clipped), CMYK / P / 1 / L / YCbCr go through Pillow's conversion."""
    if img.mode in _WIDE_MODES:
        img = _wide_to_l(img)
    if _has_alpha(img):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*background, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return img.convert("RGB") if img.mode != "RGB" else img.copy()


def load_image(source, **open_options) -> Image.Image:
    """An image file (a path, bytes or a binary file) as 8-bit RGB, upright according to its EXIF
    orientation. It is read with ``fbc2_io.images.open_image`` (``open_options``: ``what``, ``root``,
    ``deadline``, ``max_pixels``, ...), so it raises ``fbc2_io.errors.UnusableFile``."""
    with open_image(source, **open_options) as img:
        return to_rgb(ImageOps.exif_transpose(img))


def center_square(img: Image.Image) -> Image.Image:
    """The centred square of side min(W, H) (the baseline's crop)."""
    w, h = img.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    return img.crop((left, top, left + s, top + s))


def prepare_image(img: Image.Image, size: int, resample: str = "bilinear") -> torch.Tensor:
    """(3, size, size) float32 in [0, 1]: RGB, centre square crop, resize (``size`` = 8 * m for the
    VQGAN). ``resample`` is a key of ``RESAMPLE``; "bilinear" matches the baseline."""
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    if resample not in RESAMPLE:
        raise ValueError(f"unknown resample {resample!r}; known: {sorted(RESAMPLE)}")
    if img.width < 1 or img.height < 1:
        raise ValueError(f"empty image: {img.size}")
    square = center_square(to_rgb(img)).resize((size, size), RESAMPLE[resample])
    array = np.asarray(square, dtype=np.uint8)  # (size, size, 3)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(255.0)


def to_pil(image: torch.Tensor) -> Image.Image:
    """(3, H, W) floats in [0, 1] (e.g. a VQGAN decode) -> 8-bit RGB image; values are clamped and
    rounded, so ``to_pil(prepare_image(img, img.width))`` of a square RGB image gives it back."""
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"expected a (3, H, W) tensor, got {tuple(image.shape)}")
    array = image.detach().float().clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8)
    return Image.fromarray(array.permute(1, 2, 0).cpu().numpy())
