"""Opening an image from a submission at bounded cost, through the project's one loader for
files from strangers (`fbc2_io.images.open_image`).

Only raster formats are decoded (a PostScript or PDF file under a .jpg or .png name is refused,
so Pillow never starts Ghostscript); a JPEG with more scans than `fbc2_io.images.MAX_JPEG_SCANS`
is refused before decoding (each scan is a pass over every pixel); a JPEG larger than needed is
decoded at 1/2, 1/4 or 1/8 scale, keeping at least `KEPT_SIDE` pixels on its short side; any other
image whose decoded size would be over `MAX_DECODED_PIXELS` is refused before decoding; decoding
stops after `MAX_DECODE_SECONDS`. A decoded image larger than `KEPT_SIDE` on a side is shrunk
(`Image.reduce`, then a thumbnail) before it is kept. CLIP (336 px) and FID (256, then 299 px)
resize below `KEPT_SIDE`, so only images over it are affected at all.
"""

from __future__ import annotations

import time

from evaluator.errors import InputError
from evaluator.io.files import MAX_IMAGE_BYTES
from fbc2_io.errors import UnusableFile
from fbc2_io.images import open_image

MAX_DECODED_PIXELS = 4096 * 4096
MAX_DECODE_SECONDS = 20.0
KEPT_SIDE = 512


def open_rgb(path: str):
    """An RGB PIL image no larger than KEPT_SIDE on a side; InputError, with the reason, for a file
    that is refused or cannot be decoded."""
    try:
        image = open_image(path, what="image", max_pixels=MAX_DECODED_PIXELS, min_side=KEPT_SIDE,
                           max_bytes=MAX_IMAGE_BYTES, deadline=time.monotonic() + MAX_DECODE_SECONDS)
    except UnusableFile as error:
        raise InputError(error.reason) from None
    with image:
        rgb = image.convert("RGB")
    factor = max(rgb.size) // KEPT_SIDE
    if factor >= 2:
        rgb = rgb.reduce(factor)
    if max(rgb.size) > KEPT_SIDE:
        rgb.thumbnail((KEPT_SIDE, KEPT_SIDE))
    return rgb
