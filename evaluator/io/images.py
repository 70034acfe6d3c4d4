"""Opening an image from a submission at bounded cost.

The file is read as a regular file of at most `MAX_IMAGE_BYTES`; JPEGs are decoded at a reduced
scale (`Image.draft`) when they are larger than needed; an image whose decoded size would still
be over `MAX_DECODED_PIXELS` is refused before decoding; a decoded image larger than
`KEPT_SIDE` on a side is shrunk (`Image.reduce`, then a thumbnail) before it is kept. CLIP (336 px)
and FID (256, then 299 px) resize below `KEPT_SIDE`, so only images over it are affected at all.
"""

from __future__ import annotations

import io
import warnings

from evaluator.errors import InputError
from evaluator.io.files import MAX_IMAGE_BYTES, read_regular

MAX_DECODED_PIXELS = 4096 * 4096
KEPT_SIDE = 512


def open_rgb(path: str):
    """An RGB PIL image no larger than KEPT_SIDE on a side; InputError for refused files,
    Pillow's own exceptions for broken ones."""
    from PIL import Image

    data = read_regular(path, MAX_IMAGE_BYTES, "image")
    with warnings.catch_warnings():  # our own pixel limit below replaces Pillow's bomb warning
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data))
    with image:
        image.draft("RGB", (KEPT_SIDE, KEPT_SIDE))  # JPEG only: decode at 1/2, 1/4 or 1/8 scale
        width, height = image.size
        if width * height > MAX_DECODED_PIXELS:
            raise InputError(f"{width}x{height} image: over the {MAX_DECODED_PIXELS}-pixel decoding limit")
        rgb = image.convert("RGB")
    factor = max(rgb.size) // KEPT_SIDE
    if factor >= 2:
        rgb = rgb.reduce(factor)
    if max(rgb.size) > KEPT_SIDE:
        rgb.thumbnail((KEPT_SIDE, KEPT_SIDE))
    return rgb
