"""Reading a shape scene back from its pixels (an oracle for tests and a diagnostic for generated
images): which colours, shapes, sizes and positions an image shows, and its background.

It uses only the colour table and geometry (fill ratio of the bounding box: square ~1, circle
~0.785, triangle ~0.5), never the generator's random choices. It needs the exact palette at 256
pixels; generated (VQGAN-decoded, 64-pixel) images are read by ``scene_reader.read_scene``.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from .drawing import Scene, Shape
from .vocab import BACKGROUNDS, COLOURS, POSITIONS, SIZES

COLOUR_TOLERANCE = 70.0  # RGB distance to a palette colour
MIN_AREA = 300  # pixels; a small shape covers about 41*41*0.5


def _nearest(value: float, table: dict[str, int]) -> str:
    return min(table, key=lambda k: abs(table[k] - value))


def detect_scene(img: Image.Image) -> Scene:
    """The scene an image shows, shapes ordered left to right."""
    arr = np.asarray(img.convert("RGB"), dtype=np.int32)
    found = []
    for colour, (rgb, _, _) in COLOURS.items():
        mask = ((arr - np.array(rgb, dtype=np.int32)) ** 2).sum(axis=2) < COLOUR_TOLERANCE ** 2
        if mask.sum() < MIN_AREA:
            continue
        labels, _ = ndimage.label(mask, structure=np.ones((3, 3)))
        for idx, sl in enumerate(ndimage.find_objects(labels), start=1):
            area = int((labels[sl] == idx).sum())
            if area < MIN_AREA:
                continue
            h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
            fill = area / float(h * w)
            shape = "квадрат" if fill > 0.9 else ("круг" if fill > 0.65 else "треугольник")
            cx = (sl[1].start + sl[1].stop - 1) / 2.0
            size = _nearest((w - 1) / 2.0, SIZES)
            found.append((cx, Shape(shape=shape, colour=colour, size=size, position=_nearest(cx, POSITIONS))))
    border = np.concatenate([arr[:4].reshape(-1, 3), arr[-4:].reshape(-1, 3),
                             arr[:, :4].reshape(-1, 3), arr[:, -4:].reshape(-1, 3)])
    median = np.median(border, axis=0).astype(np.float64)
    background = min(BACKGROUNDS, key=lambda b: float(np.linalg.norm(median - np.array(BACKGROUNDS[b][0]))))
    return Scene(background=background, shapes=tuple(s for _, s in sorted(found, key=lambda t: t[0])))
