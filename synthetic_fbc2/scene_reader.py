"""A tolerant reader of shape scenes for generated images (the VQGAN-decoded 64-pixel output of the
demo model), where ``detect.detect_scene`` (exact palette colours, 256 pixels) reads nothing.

How it reads an image, at ``READ_SIZE`` pixels:

1. background: the median colour of the outer ``BORDER`` pixels;
2. foreground: pixels farther than ``fg_threshold`` (RGB distance) from that colour;
3. one slot per position word: shapes sit at three fixed centres and never touch, so the columns
   between the midpoints of the centres hold at most one shape each. The largest 8-connected
   foreground component of a slot is a shape when it has at least ``min_area`` pixels;
4. each attribute is the nearest prototype of its features (distance in units of each feature's
   spread): colour from the mean colour of the component's inner half (the pixels farthest from the
   background), shape from the box fill and the fill of the box's top half against its bottom half
   (square ~1 and 1, circle ~0.79 and 1, triangle ~0.5 and 0.33), size from the box extent, the
   background from the border colour.

The thresholds and prototypes are a ``Calibration``, fitted by ``calibrate`` on images whose scene
is known: gold drawings and VQGAN reconstructions of them, each a "domain" with its own prototypes
(a reconstruction shifts colours: the demo VQGAN draws green as dark purple or brown). The bundled
``scene_reader_demo.json`` was fitted on the held-out split (seed 7001) and the demo VQGAN:
``python -m synthetic_fbc2.scene_reader --vqgan weights/demo`` refits it and prints the reader's
accuracy on another draw.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from .drawing import IMAGE_SIZE, Scene, Shape
from .vocab import POSITIONS

READ_SIZE = 64
BORDER = 2
CALIBRATION_FILE = Path(__file__).with_name("scene_reader_demo.json")
ATTRIBUTES = ("colour", "shape", "size")
FG_THRESHOLDS = (25.0, 35.0, 45.0, 55.0, 70.0)  # candidates tried by calibrate
MIN_AREAS = (6, 10, 15, 20, 30, 40)


def _slot_bounds() -> dict[str, tuple[int, int]]:
    """Column range of each position word at READ_SIZE: between the midpoints of the centres."""
    centres = sorted(POSITIONS.items(), key=lambda kv: kv[1])
    scale = READ_SIZE / IMAGE_SIZE
    cuts = [0] + [round((a[1] + b[1]) / 2 * scale) for a, b in zip(centres, centres[1:], strict=False)] + [READ_SIZE]
    return {name: (cuts[i], cuts[i + 1]) for i, (name, _) in enumerate(centres)}


SLOTS = _slot_bounds()


def as_array(img: Image.Image) -> np.ndarray:
    """(READ_SIZE, READ_SIZE, 3) float RGB; larger images are box-filtered down."""
    img = img.convert("RGB")
    if img.size != (READ_SIZE, READ_SIZE):
        img = img.resize((READ_SIZE, READ_SIZE), Image.BOX)
    return np.asarray(img, dtype=np.float64)


def jpeg_round_trip(img: Image.Image, quality: int = 95) -> Image.Image:
    """The image as run.py writes it (JPEG at quality 95) and reads it back."""
    buffer = io.BytesIO()
    img.convert("RGB").save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


@dataclass(frozen=True)
class Blob:
    """What the reader measured in one slot."""

    area: int
    colour: tuple[float, float, float]  # mean RGB of the inner half
    shape: tuple[float, float]  # (box fill, top-half fill / bottom-half fill)
    size: tuple[float]  # box extent in pixels at READ_SIZE


@dataclass(frozen=True)
class Measured:
    background: tuple[float, float, float]
    blobs: dict[str, Blob | None]  # position word -> the slot's largest component, if any


def measure(img: Image.Image, fg_threshold: float) -> Measured:
    arr = as_array(img)
    ring = np.concatenate([arr[:BORDER].reshape(-1, 3), arr[-BORDER:].reshape(-1, 3),
                           arr[:, :BORDER].reshape(-1, 3), arr[:, -BORDER:].reshape(-1, 3)])
    background = np.median(ring, axis=0)
    distance = np.linalg.norm(arr - background, axis=2)
    blobs = {}
    for position, (lo, hi) in SLOTS.items():
        mask = distance[:, lo:hi] > fg_threshold
        labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
        if count == 0:
            blobs[position] = None
            continue
        areas = ndimage.sum(mask, labels, index=range(1, count + 1))
        component = labels == int(np.argmax(areas)) + 1
        blobs[position] = _blob(component, arr[:, lo:hi], distance[:, lo:hi])
    return Measured(tuple(float(v) for v in background), blobs)


def _blob(component: np.ndarray, arr: np.ndarray, distance: np.ndarray) -> Blob:
    rows, cols = np.nonzero(component)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    box = component[top:bottom, left:right]
    half = max(1, box.shape[0] // 2)
    top_fill, bottom_fill = box[:half].mean(), box[box.shape[0] - half:].mean()
    inner = distance[component] >= np.median(distance[component])
    colour = arr[component][inner].mean(axis=0)
    return Blob(area=int(component.sum()), colour=tuple(float(v) for v in colour),
                shape=(float(box.mean()), float(top_fill / max(bottom_fill, 1e-6))),
                size=(float(max(box.shape)),))


@dataclass(frozen=True)
class Calibration:
    fg_threshold: float
    min_area: int
    # attribute ("background", "colour", "shape", "size") -> [(label, domain, feature vector)]
    prototypes: dict[str, list[tuple[str, str, list[float]]]]
    scales: dict[str, list[float]]  # attribute -> spread of each feature
    fitted_on: str  # what the calibration images were

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        raw = json.loads(text)
        raw["prototypes"] = {k: [tuple(p) for p in v] for k, v in raw["prototypes"].items()}
        return cls(**raw)


def load_calibration(path: str | Path = CALIBRATION_FILE) -> Calibration:
    return Calibration.from_json(Path(path).read_text(encoding="utf-8"))


def _nearest(calibration: Calibration, attribute: str, features) -> str:
    scale = np.asarray(calibration.scales[attribute])
    point = np.asarray(features) / scale
    best = min(calibration.prototypes[attribute],
               key=lambda p: float(np.sum((point - np.asarray(p[2]) / scale) ** 2)))
    return best[0]


_DEFAULT: list[Calibration] = []


def read_scene(img: Image.Image, calibration: Calibration | None = None) -> Scene:
    """The scene ``img`` shows as the reader sees it (default: the bundled demo calibration)."""
    if calibration is None:
        if not _DEFAULT:
            _DEFAULT.append(load_calibration())
        calibration = _DEFAULT[0]
    measured = measure(img, calibration.fg_threshold)
    shapes = []
    for position in sorted(SLOTS, key=lambda p: POSITIONS[p]):
        blob = measured.blobs[position]
        if blob is None or blob.area < calibration.min_area:
            continue
        shapes.append(Shape(shape=_nearest(calibration, "shape", blob.shape),
                            colour=_nearest(calibration, "colour", blob.colour),
                            size=_nearest(calibration, "size", blob.size), position=position))
    return Scene(background=_nearest(calibration, "background", measured.background), shapes=tuple(shapes))


# --- calibration -----------------------------------------------------------------------------

def _presence_accuracy(measured: list[tuple[Measured, Scene]], min_area: int) -> float:
    right = total = 0
    for m, scene in measured:
        present = {s.position for s in scene.shapes}
        for position, blob in m.blobs.items():
            seen = blob is not None and blob.area >= min_area
            right += seen == (position in present)
            total += 1
    return right / total


def calibrate(domains: dict[str, list[tuple[Image.Image, Scene]]], fitted_on: str) -> Calibration:
    """Fit thresholds and prototypes on images with known scenes, one list per domain
    ("gold", "vqgan", ...). The foreground threshold and minimum area are the pair with the best
    slot presence accuracy over all domains (ties: the first tried); a prototype is the mean
    feature vector of one label in one domain."""
    pairs = [pair for images in domains.values() for pair in images]
    best = None
    for threshold in FG_THRESHOLDS:
        measured = [(measure(img, threshold), scene) for img, scene in pairs]
        for min_area in MIN_AREAS:
            accuracy = _presence_accuracy(measured, min_area)
            if best is None or accuracy > best[0]:
                best = (accuracy, threshold, min_area)
    _, threshold, min_area = best
    features: dict[str, dict[tuple[str, str], list]] = {a: {} for a in ("background", *ATTRIBUTES)}
    for domain, images in domains.items():
        for img, scene in images:
            m = measure(img, threshold)
            features["background"].setdefault((scene.background, domain), []).append(m.background)
            for s in scene.shapes:
                blob = m.blobs[s.position]
                if blob is None or blob.area < min_area:
                    continue
                for attribute in ATTRIBUTES:
                    features[attribute].setdefault((getattr(s, attribute), domain), []).append(
                        getattr(blob, attribute))
    prototypes, scales = {}, {}
    for attribute, groups in features.items():
        prototypes[attribute] = [(label, domain, [round(float(v), 3) for v in np.mean(values, axis=0)])
                                 for (label, domain), values in sorted(groups.items())]
        # spread: the mean within-group standard deviation of each feature (1 where it is 0)
        spread = np.mean([np.std(values, axis=0) for values in groups.values()], axis=0)
        scales[attribute] = [round(float(v), 4) if v > 1e-4 else 1.0 for v in np.atleast_1d(spread)]
    return Calibration(threshold, min_area, prototypes, scales, fitted_on)


# --- accuracy --------------------------------------------------------------------------------

def reader_accuracy(pairs: list[tuple[Image.Image, Scene]], calibration: Calibration | None = None) -> dict:
    """How often the reader is right on images of known scenes: the whole scene, the background,
    the set of occupied positions, and each shape attribute where the position was found."""
    counts = {k: [0, 0] for k in ("scene", "background", "positions", *ATTRIBUTES)}

    def tally(key: str, ok: bool) -> None:
        counts[key][0] += bool(ok)
        counts[key][1] += 1

    for img, scene in pairs:
        read = read_scene(img, calibration)
        tally("scene", read.key() == scene.key())
        tally("background", read.background == scene.background)
        tally("positions", {s.position for s in read.shapes} == {s.position for s in scene.shapes})
        by_position = {s.position: s for s in read.shapes}
        for s in scene.shapes:
            if s.position in by_position:
                for attribute in ATTRIBUTES:
                    tally(attribute, getattr(by_position[s.position], attribute) == getattr(s, attribute))
    return {k: (right / total if total else None) for k, (right, total) in counts.items()}


SCENE_TASKS = ("ImageGeneration", "ImageCaptioning", "VisualQA")


def scene_images(split: str, per_task: int, seed: int | None = None) -> list[tuple[Image.Image, Scene]]:
    """(gold drawing, scene) of the shape tasks' samples of a split."""
    # the generator only for calibration: reading a scene does without it (start-up time)
    from .synthetic import generate_split

    pairs = []
    for sample in generate_split(split, per_task, seed=seed, tasks=list(SCENE_TASKS)):
        image = sample.gold_image if sample.gold_image is not None else next(
            item.content for item in sample.items if item.type == "image")
        pairs.append((image, sample.meta["scene"]))
    return pairs


def vqgan_reconstructions(images: list[Image.Image], vqgan_dir: str | Path, batch: int = 32) -> list[Image.Image]:
    """Encode and decode each image with a weights folder's VQGAN at READ_SIZE, saved as run.py does."""
    # torch and the VQGAN only here: reading a scene needs neither (start-up time of the reader)
    import torch

    from solution.images import prepare_image, to_pil  # likewise
    from solution.vqgan import find_vqgan_file, load_vqgan, resolve_vqgan_config  # likewise

    vqgan = load_vqgan(find_vqgan_file(vqgan_dir), resolve_vqgan_config(folder=vqgan_dir))
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch):
            x = torch.stack([prepare_image(img, READ_SIZE) for img in images[start:start + batch]])
            out += [jpeg_round_trip(to_pil(y)) for y in vqgan.decode(vqgan.encode(x))]
    return out


def reconstructed(pairs: list[tuple[Image.Image, Scene]], vqgan_dir: str | Path) -> list[tuple[Image.Image, Scene]]:
    """The same (image, scene) pairs with each image replaced by its VQGAN reconstruction."""
    images = vqgan_reconstructions([img for img, _ in pairs], vqgan_dir)
    return [(img, scene) for img, (_, scene) in zip(images, pairs, strict=True)]


def main(argv=None) -> None:
    import argparse

    p = argparse.ArgumentParser(description="Fit the scene reader on gold drawings and VQGAN reconstructions "
                                "of a calibration split, and report its accuracy on another draw.")
    p.add_argument("--vqgan", type=Path, default=Path("weights/demo"), help="folder holding the VQGAN")
    p.add_argument("--split", default="heldout", help="calibration split (never the test split)")
    p.add_argument("--per-task", type=int, default=100, help="scenes per shape task (3 tasks)")
    p.add_argument("--check-seed", type=int, default=7002, help="seed of the accuracy draw (same split)")
    p.add_argument("--out", type=Path, default=CALIBRATION_FILE)
    args = p.parse_args(argv)
    if args.split == "test":
        p.error("--split test: the test split is never used for a choice")

    gold = scene_images(args.split, args.per_task)
    recon = reconstructed(gold, args.vqgan)
    calibration = calibrate({"gold": gold, "vqgan": recon},
                            f"{args.split} split (its own seed), {args.per_task} scenes per shape task, "
                            f"gold and VQGAN reconstructions ({args.vqgan})")
    args.out.write_text(calibration.to_json(), encoding="utf-8")
    check = scene_images(args.split, args.per_task // 2, seed=args.check_seed)
    check_recon = reconstructed(check, args.vqgan)
    print(f"wrote {args.out}: fg threshold {calibration.fg_threshold}, min area {calibration.min_area}")
    for name, pairs in (("gold", check), ("vqgan", check_recon)):
        accuracy = reader_accuracy(pairs, calibration)
        print(f"{name} ({len(pairs)} images, {args.split} seed {args.check_seed}): "
              + ", ".join(f"{k} {v:.3f}" for k, v in accuracy.items() if v is not None))


if __name__ == "__main__":
    main()
