"""Pillow drawing of the synthetic images: shape scenes and rendered words on textured backgrounds.

All randomness comes from the ``random.Random`` passed in, so an image is a pure function of it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .fonts import find_cyrillic_fonts
from .vocab import BACKGROUNDS, COLOURS, POSITIONS, SIZES

IMAGE_SIZE = 256


@dataclass(frozen=True)
class Shape:
    shape: str  # key of vocab.SHAPES
    colour: str  # key of vocab.COLOURS
    size: str  # key of vocab.SIZES
    position: str  # key of vocab.POSITIONS


@dataclass(frozen=True)
class Scene:
    background: str  # key of vocab.BACKGROUNDS
    shapes: tuple[Shape, ...]  # ordered left to right, at most one per position

    def key(self) -> str:
        """Content key: what a caption can say about the scene (no texture, no jitter)."""
        parts = [f"{s.size} {s.colour} {s.shape} {s.position}" for s in self.shapes]
        return " | ".join(parts) + f" || {self.background}"


def _np_rng(rng: random.Random) -> np.random.Generator:
    return np.random.default_rng(rng.getrandbits(64))


def textured_background(rgb: tuple[int, int, int], texture: str, rng: random.Random,
                        amplitude: float = 10.0) -> Image.Image:
    """A 256x256 background: "plain", "blotches" (smooth low-frequency noise) or "stripes"."""
    base = np.empty((IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.float32)
    base[:] = rgb
    if texture == "blotches":
        small = _np_rng(rng).normal(0.0, 1.0, size=(8, 8)).astype(np.float32)
        field = np.asarray(Image.fromarray(small).resize((IMAGE_SIZE, IMAGE_SIZE),
                                                                   Image.BICUBIC))
        base += amplitude * field[:, :, None]
    elif texture == "stripes":
        period = rng.randint(10, 24)
        yy, xx = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE]
        direction = rng.choice([(1, 0), (0, 1), (1, 1), (1, -1)])
        phase = (xx * direction[0] + yy * direction[1]) * (2 * np.pi / period)
        base += amplitude * np.sin(phase)[:, :, None].astype(np.float32)
    elif texture != "plain":
        raise ValueError(f"unknown texture {texture!r}")
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


def draw_scene(scene: Scene, texture: str, rng: random.Random) -> Image.Image:
    """Shapes of ``scene`` on its background; centres jitter a little, shapes never touch."""
    img = textured_background(BACKGROUNDS[scene.background][0], texture, rng)
    draw = ImageDraw.Draw(img)
    for s in scene.shapes:
        r = SIZES[s.size]
        cx = POSITIONS[s.position] + rng.randint(-4, 4)
        cy = IMAGE_SIZE // 2 + rng.randint(-40, 40)
        fill = COLOURS[s.colour][0]
        if s.shape == "круг":
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        elif s.shape == "квадрат":
            draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=fill)
        elif s.shape == "треугольник":
            draw.polygon([(cx - r, cy + r), (cx + r, cy + r), (cx, cy - r)], fill=fill)
        else:
            raise ValueError(f"unknown shape {s.shape!r}")
    return img


def _contrasting_colours(rng: random.Random) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(background, text) colours with a clear luminance gap."""
    light = tuple(rng.randint(185, 250) for _ in range(3))
    dark = tuple(rng.randint(0, 80) for _ in range(3))
    return (light, dark) if rng.random() < 0.6 else (dark, light)


@dataclass(frozen=True)
class TextStyle:
    font: int  # font slot, 0..FONT_SLOTS-1 (see draw_text_image)
    size: int  # requested font size (shrunk when the text would not fit)
    texture: str
    bg: tuple[int, int, int]
    fg: tuple[int, int, int]

    def key(self) -> str:
        return f"{self.font}|{self.size}|{self.texture}|{self.bg}|{self.fg}"


FONT_SLOTS = 5  # font choices per sample; slot k uses found font k % len(found)


def random_text_style(rng: random.Random) -> TextStyle:
    """A style; the random stream does not depend on how many fonts this machine has, so the texts
    and answers of a split are the same everywhere (only the pixels follow the fonts)."""
    find_cyrillic_fonts()  # fail early, with the install hint, when there is no usable font
    bg, fg = _contrasting_colours(rng)
    return TextStyle(font=rng.randrange(FONT_SLOTS), size=rng.randint(30, 46),
                     texture=rng.choice(["plain", "blotches", "stripes"]), bg=bg, fg=fg)


def draw_text_image(text: str, style: TextStyle, rng: random.Random) -> Image.Image:
    """``text`` rendered in ``style`` on a textured background, slightly rotated, at a random place."""
    fonts = find_cyrillic_fonts()
    path = fonts[style.font % len(fonts)]
    img = textured_background(style.bg, style.texture, rng, amplitude=14.0)
    size = style.size
    font = ImageFont.truetype(path, size)
    while font.getlength(text) > IMAGE_SIZE - 24 and size > 12:
        size -= 2
        font = ImageFont.truetype(path, size)

    left, top, right, bottom = font.getbbox(text)
    w, h = right - left, bottom - top
    layer = Image.new("RGBA", (w + 16, h + 16), (0, 0, 0, 0))
    ImageDraw.Draw(layer).text((8 - left, 8 - top), text, font=font, fill=style.fg + (255,))
    layer = layer.rotate(rng.uniform(-8.0, 8.0), resample=Image.BICUBIC, expand=True)
    max_x = max(0, IMAGE_SIZE - layer.width)
    max_y = max(0, IMAGE_SIZE - layer.height)
    x = rng.randint(min(8, max_x), max(min(8, max_x), max_x - 8))
    y = rng.randint(min(40, max_y), max(min(40, max_y), max_y - 40))
    img.paste(layer, (x, y), layer)
    return img
