"""Opening an image from a submission or the reference at bounded cost.

`fbc2_io.images.open_image` reads the file as a regular file of at most `MAX_IMAGE_BYTES`, decodes
only fixed raster formats, decodes a JPEG larger than needed at a reduced scale (keeping at least
`KEPT_SIDE` pixels on its short side) and refuses an image whose decoded size would still be over
`MAX_DECODED_PIXELS` before decoding; a decoded image larger than `KEPT_SIDE` on a side is then
shrunk (`Image.reduce`, then a thumbnail) before it is kept. CLIP (336 px) and FID (256, then
299 px) resize below `KEPT_SIDE`, so only images over it are affected at all.
"""

from __future__ import annotations

from evaluator.errors import InputError
from evaluator.io.files import MAX_IMAGE_BYTES
from fbc2_io.errors import UnusableFile
from fbc2_io.images import open_image

MAX_DECODED_PIXELS = 4096 * 4096
KEPT_SIDE = 512


def open_rgb(path: str):
    """An RGB PIL image no larger than KEPT_SIDE on a side; InputError (its message the reason
    alone) for a file that cannot be used."""
    try:
        image = open_image(path, what="image", max_pixels=MAX_DECODED_PIXELS, min_side=KEPT_SIDE,
                           max_bytes=MAX_IMAGE_BYTES)
    except UnusableFile as problem:
        raise InputError(problem.reason) from None
    with image:
        rgb = image.convert("RGB")
    factor = max(rgb.size) // KEPT_SIDE
    if factor >= 2:
        rgb = rgb.reduce(factor)
    if max(rgb.size) > KEPT_SIDE:
        rgb.thumbnail((KEPT_SIDE, KEPT_SIDE))
    return rgb
