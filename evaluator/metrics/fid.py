"""FID with the standard FID InceptionV3, without torchvision and without downloads.

The weight file is pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth`` (the TensorFlow FID
Inception ported to PyTorch). Facts taken from mseitzer/pytorch-fid ``src/pytorch_fid/inception.py``
and ``src/pytorch_fid/fid_score.py`` and from pytorch/vision ``torchvision/models/inception.py``:

* the file is the state dict of torchvision's ``Inception3(num_classes=1008, aux_logits=False)``
  (so an ``fc`` of 2048 -> 1008 and no ``AuxLogits``) whose Mixed_5b/5c/5d, Mixed_6b..6e, Mixed_7b
  and Mixed_7c are replaced by FIDInceptionA/C/E_1/E_2, and it is loaded with a strict
  ``load_state_dict``;
* BasicConv2d = conv (no bias) + BatchNorm2d(eps=0.001) + ReLU;
* the FID blocks differ from torchvision's only in their pooling branch: A, C and E_1 average-pool
  with ``count_include_pad=False`` (TensorFlow's behaviour), E_2 (Mixed_7c) max-pools;
* the input, in [0, 1], is resized to 299 x 299 with ``F.interpolate(mode='bilinear',
  align_corners=False)``, mapped to [-1, 1] by ``2x - 1``, run to Mixed_7c and averaged over space
  (pool3, 2048 features); images are loaded with ``convert('RGB')`` and ``ToTensor``;
* ``calculate_frechet_distance``: ``|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr(sqrtm(S1 S2))``; when the
  product's square root is not finite, ``eps = 1e-6`` is added to both diagonals; an imaginary part
  is dropped when the diagonal's imaginary part is within ``atol=1e-3`` of 0, else it is an error;
  the statistics are ``mean`` and ``np.cov(rowvar=False)``.

The official FBC2 scorer resized both image sets to 256 x 256 before this pipeline (see
shared/spec/metrics.md); ``fid_from_images`` does the same.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import linalg
from torch import nn

from evaluator.errors import WeightsMismatch, WeightsUnavailable
from evaluator.metrics.ruclip import check_state_dict, read_state_dict

__all__ = [
    "FIDInception",
    "WEIGHTS_FILE_NAME",
    "WeightsMismatch",
    "build_inception",
    "fid_from_features",
    "fid_from_images",
    "frechet_distance",
    "load_inception",
]

WEIGHTS_FILE_NAME = "pt_inception-2015-12-05-6726825d.pth"
FID_INPUT_SIZE = 299
OFFICIAL_RESIZE = 256


class BasicConv2d(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _tf_avg_pool(x: torch.Tensor) -> torch.Tensor:
    # TensorFlow's 3x3 average pool does not count the zero padding (FID patch of blocks A, C, E_1).
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class FIDInceptionA(nn.Module):
    def __init__(self, in_channels: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(_tf_avg_pool(x))
        return torch.cat([b1, b5, b3, bp], 1)


class InceptionB(nn.Module):
    """Mixed_6a (torchvision's block, unchanged for FID)."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, bd, bp], 1)


class FIDInceptionC(nn.Module):
    def __init__(self, in_channels: int, channels_7x7: int):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = layer(bd)
        bp = self.branch_pool(_tf_avg_pool(x))
        return torch.cat([b1, b7, bd, bp], 1)


class InceptionD(nn.Module):
    """Mixed_7a (torchvision's block, unchanged for FID)."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, b7, bp], 1)


class FIDInceptionE(nn.Module):
    """Mixed_7b (pool="avg": FIDInceptionE_1) and Mixed_7c (pool="max": FIDInceptionE_2)."""

    def __init__(self, in_channels: int, pool: str):
        super().__init__()
        if pool not in ("avg", "max"):
            raise ValueError(f"pool must be 'avg' or 'max', not {pool!r}")
        self.pool = pool
        self.branch1x1 = BasicConv2d(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        if self.pool == "avg":
            pooled = _tf_avg_pool(x)
        else:
            # The FID Inception max-pools here (pytorch-fid: "likely an error" of that model, kept).
            pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        bp = self.branch_pool(pooled)
        return torch.cat([b1, b3, bd, bp], 1)


class FIDInception(nn.Module):
    """The FID InceptionV3 in torchvision's Inception3 key layout (num_classes=1008, no AuxLogits)."""

    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = FIDInceptionA(192, pool_features=32)
        self.Mixed_5c = FIDInceptionA(256, pool_features=64)
        self.Mixed_5d = FIDInceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
        self.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = FIDInceptionE(1280, pool="avg")
        self.Mixed_7c = FIDInceptionE(2048, pool="max")
        # Present in the weight file (1008 TF classes); not used for FID.
        self.fc = nn.Linear(2048, 1008)

    def pool3(self, x: torch.Tensor, resize: bool = True) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] -> (N, 2048) pool3 features (pytorch-fid's InceptionV3 block 3)."""
        if resize:
            x = F.interpolate(x, size=(FID_INPUT_SIZE, FID_INPUT_SIZE), mode="bilinear", align_corners=False)
        x = 2 * x - 1
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for block in (
            self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
            self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c,
        ):  # fmt: skip
            x = block(x)
        return F.adaptive_avg_pool2d(x, (1, 1)).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool3(x)

    @torch.no_grad()
    def features(self, images: Sequence[Image.Image], batch_size: int = 16) -> np.ndarray:
        """pool3 features, (n, 2048) float64, of PIL images of any sizes (each resized to 299)."""
        device = next(self.parameters()).device
        out = np.empty((len(images), 2048), dtype=np.float64)
        for start in range(0, len(images), batch_size):
            batch = []
            for image in images[start : start + batch_size]:
                t = _to_unit_tensor(image).unsqueeze(0)
                # Resizing each image alone equals resizing the batch; it allows mixed input sizes.
                batch.append(
                    F.interpolate(t, size=(FID_INPUT_SIZE,) * 2, mode="bilinear", align_corners=False)
                )
            x = torch.cat(batch).to(device)
            out[start : start + len(batch)] = self.pool3(x, resize=False).cpu().double().numpy()
        return out


def _to_unit_tensor(image: Image.Image) -> torch.Tensor:
    """PIL -> (3, H, W) float32 in [0, 1] (convert('RGB') + torchvision ToTensor)."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    array = np.asarray(image, dtype=np.float32) / 255.0
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def build_inception(seed: int | None = 0) -> FIDInception:
    """A randomly initialised FIDInception (for tests): He-normal convs, BatchNorm at identity."""
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    model = FIDInception()
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=generator) * (2.0 / fan_in) ** 0.5)
    return model.eval()


def load_inception(weights_file: str, device: str | torch.device = "cpu") -> FIDInception:
    """Load pt_inception-2015-12-05-6726825d.pth strictly; WeightsUnavailable when the file is absent."""
    if not weights_file or not os.path.isfile(weights_file):
        raise WeightsUnavailable(
            f"FID Inception weights not found: {weights_file!r} (expected pytorch-fid's {WEIGHTS_FILE_NAME})"
        )
    state = read_state_dict(weights_file, "FID Inception weights")
    model = FIDInception()
    expected = model.state_dict()
    # BatchNorm's num_batches_tracked counters do not affect inference; files saved before they
    # existed lack them and torch's own strict loading accepts that, so fill them in.
    for key, value in expected.items():
        if key.endswith(".num_batches_tracked") and key not in state:
            state[key] = value
    check_state_dict(model, state, f"FID Inception weights {weights_file}")
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()


# --------------------------------------------------------------------------------------------------
# Fréchet distance


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """|mu1 - mu2|^2 + tr(S1 + S2 - 2 sqrtm(S1 S2)), with pytorch-fid's handling of numerical trouble."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape:
        raise ValueError(f"mean vectors differ in shape: {mu1.shape} vs {mu2.shape}")
    if sigma1.shape != sigma2.shape:
        raise ValueError(f"covariances differ in shape: {sigma1.shape} vs {sigma2.shape}")
    diff = mu1 - mu2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            # The product is (almost) singular: add eps to both diagonals.
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"sqrtm(S1 S2) has an imaginary component of {np.max(np.abs(covmean.imag))}")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def fid_from_features(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """FID between two (n, d) feature sets: mean and np.cov(rowvar=False) of each."""
    a, b = np.asarray(features_a, dtype=np.float64), np.asarray(features_b, dtype=np.float64)
    for name, f in (("first", a), ("second", b)):
        if f.ndim != 2 or f.shape[0] < 2:
            raise ValueError(f"FID needs at least 2 feature rows per set; the {name} set has shape {f.shape}")
    return frechet_distance(a.mean(axis=0), np.cov(a, rowvar=False), b.mean(axis=0), np.cov(b, rowvar=False))


def fid_from_images(
    images_a: Sequence[Image.Image],
    images_b: Sequence[Image.Image],
    model: FIDInception,
    size: int | None = OFFICIAL_RESIZE,
    batch_size: int = 16,
) -> float:
    """FID between two image sets as the official scorer: each image resized to size x size first.

    The 256 x 256 resize uses PIL bilinear (torchvision Resize's default for PIL images; the official
    scorer's filter is an assumption), then the model's own bilinear resize to 299 follows.
    size=None skips the 256 step (plain pytorch-fid).
    """

    def prepare(images: Sequence[Image.Image]) -> list[Image.Image]:
        out = []
        for image in images:
            image = image.convert("RGB") if image.mode != "RGB" else image
            out.append(image.resize((size, size), Image.BILINEAR) if size else image)
        return out

    features_a = model.features(prepare(images_a), batch_size=batch_size)
    features_b = model.features(prepare(images_b), batch_size=batch_size)
    return fid_from_features(features_a, features_b)
