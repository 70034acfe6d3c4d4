"""The one image loader for files from strangers (sample images, a team's generated images).

:func:`open_image` decodes only fixed raster formats (:data:`RASTER_FORMATS`: never EPS, PS or PDF,
so Pillow never starts Ghostscript), bounds the decode cost before decoding (the pixel count from
the header; for JPEG the number of scans, since a progressive file with thousands of scans costs a
full pass over the picture per scan), decodes a JPEG that is too big at 1/2, 1/4 or 1/8 scale
instead of refusing it, and stops at a deadline: the decoder gets the file a small block at a time
and the clock is checked between blocks. Every failure is an :class:`~fbc2_io.errors.UnusableFile`.
"""

from __future__ import annotations

import io
import re
import time
import warnings
from pathlib import Path

from PIL import Image

from .errors import UnusableFile
from .files import atomic_write_bytes, read_bytes

RASTER_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
DEFAULT_MAX_PIXELS = 50_000_000  # decoded at most (about 150 MB as RGB); bigger JPEGs are scaled down
MAX_IMAGE_BYTES = 64 << 20  # bigger files are refused unread
MAX_JPEG_SCANS = 100  # libjpeg's progressive scripts use 6-10; each scan is a pass over all pixels
READ_BLOCK = 16 << 10  # bytes handed to the decoder at a time: the deadline is checked between blocks
_JPEG_FORMATS = ("JPEG", "MPO")  # Pillow opens a camera's multi-picture JPEG as MPO
_DRAFT_SCALES = (1, 2, 4, 8)  # the reductions libjpeg decodes directly
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")  # in entropy-coded data 0xFF is stuffed or RSTn
_SAVE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP"}


class _TimeUp(Exception):
    pass


class _DeadlineReader(io.BytesIO):
    """The file's bytes; every read past ``deadline`` (a ``time.monotonic()`` value) raises."""

    def __init__(self, data: bytes, deadline: float | None):
        super().__init__(data)
        self.deadline = deadline

    def read(self, size: int | None = -1) -> bytes:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise _TimeUp
        return super().read(size)


def jpeg_scan_count(data: bytes) -> int:
    """The number of scans (SOS segments) in the first JPEG picture of ``data``: marker segments are
    skipped by their length, entropy-coded data up to the next marker, so bytes inside metadata
    (an EXIF thumbnail) are not counted."""
    scans, pos, end = 0, 2, len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:  # garbage between segments: go to the next marker
            found = _NEXT_MARKER.search(data, pos)
            if found is None:
                break
            pos = found.start()
            continue
        marker = data[pos + 1]
        if marker == 0xFF:  # a fill byte
            pos += 1
            continue
        if marker == 0xD9:  # end of image
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            pos += 2
            continue
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
        if marker == 0xDA:
            scans += 1
            found = _NEXT_MARKER.search(data, pos)
            if found is None:
                break
            pos = found.start()
    return scans


def _jpeg_scale(size: tuple[int, int], max_pixels: int, min_side: int | None) -> int | None:
    """The libjpeg reduction (1, 2, 4 or 8) to decode at: the smallest that fits ``max_pixels``, or
    the largest that keeps ``min_side`` pixels on the short side when that is bigger; None if even
    1/8 does not fit."""
    w, h = size
    fitting = [s for s in _DRAFT_SCALES if -(-w // s) * -(-h // s) <= max_pixels]
    if not fitting:
        return None
    keeping = [s for s in _DRAFT_SCALES if min_side is not None and min(w, h) // s >= min_side]
    return max([fitting[0], *keeping])


def _source_bytes(source, what: str, root, max_bytes: int) -> tuple[bytes, object]:
    if isinstance(source, (str, Path)):
        return read_bytes(source, root=root, max_bytes=max_bytes, what=what), source
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        try:
            data = source.read(max_bytes + 1)
        except (OSError, ValueError) as e:
            raise UnusableFile(what, getattr(source, "name", "(stream)"), f"unreadable ({type(e).__name__})") from None
    shown = getattr(source, "name", "(data)")
    if len(data) > max_bytes:
        raise UnusableFile(what, shown, f"bigger than {max_bytes} bytes")
    return data, shown


def open_image(source, *, what: str = "image", max_pixels: int = DEFAULT_MAX_PIXELS, deadline: float | None = None,
               min_side: int | None = None, root: str | Path | None = None,
               max_bytes: int = MAX_IMAGE_BYTES) -> Image.Image:
    """The first picture of an image file, decoded and loaded in its own mode (not converted).

    ``source`` is a path (read with :func:`~fbc2_io.files.read_bytes`, inside ``root`` when given),
    bytes or a binary file object. UnusableFile, one line, when the file is missing, empty, bigger
    than ``max_bytes``, not one of :data:`RASTER_FORMATS`, holds more than ``max_pixels`` pixels
    (a JPEG is decoded at reduced scale instead when 1/2, 1/4 or 1/8 fits), is a JPEG with more than
    :data:`MAX_JPEG_SCANS` scans, is broken, or is not decoded by ``deadline`` (a
    ``time.monotonic()`` value). ``min_side``: the caller needs at least this many pixels on the
    short side, so a big JPEG may be decoded at reduced scale to save time."""
    data, shown = _source_bytes(source, what, root, max_bytes)
    if not data:
        raise UnusableFile(what, shown, "empty file")
    reader = _DeadlineReader(data, deadline)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(reader, formats=RASTER_FORMATS)
            _bound_cost(image, data, what, shown, max_pixels, min_side)
            image.decodermaxblock = READ_BLOCK
            image.load()
    except UnusableFile:
        raise
    except _TimeUp:
        raise UnusableFile(what, shown, "not decoded in the time left (deadline passed)") from None
    except Image.UnidentifiedImageError:
        names = ", ".join(RASTER_FORMATS)
        raise UnusableFile(what, shown, f"not an image in a known raster format ({names})") from None
    except Image.DecompressionBombError as e:  # Pillow's own limit, checked while opening
        raise UnusableFile(what, shown, f"too many pixels ({str(e).split(',')[0]})") from None
    except Exception as e:  # Pillow raises many kinds for broken files
        raise UnusableFile(what, shown, f"broken image ({type(e).__name__}: {str(e)[:80]})") from None
    return image


def _bound_cost(image: Image.Image, data: bytes, what: str, shown: object, max_pixels: int,
                min_side: int | None) -> None:
    """Refuse (or, for a JPEG, reduce) what would cost too much to decode, before decoding."""
    w, h = image.size
    if w < 1 or h < 1:
        raise UnusableFile(what, shown, f"empty image ({w}x{h})")
    if image.format not in _JPEG_FORMATS:
        if w * h > max_pixels:
            raise UnusableFile(what, shown, f"{w}x{h} is more than {max_pixels} pixels")
        return
    scans = jpeg_scan_count(data)
    if scans > MAX_JPEG_SCANS:
        raise UnusableFile(what, shown, f"JPEG with {scans} scans (more than {MAX_JPEG_SCANS})")
    scale = _jpeg_scale((w, h), max_pixels, min_side)
    if scale is None:
        raise UnusableFile(what, shown, f"{w}x{h} is more than {max_pixels} pixels even at 1/8 scale")
    if scale > 1:
        image.draft(None, (w // scale, h // scale))


def save_image(image: Image.Image, path: str | Path, *, root: str | Path | None = None, **save_options) -> None:
    """A Pillow image written with :func:`~fbc2_io.files.atomic_write_bytes` (format from the
    suffix, PNG when unknown); UnusableFile when it cannot be encoded or written."""
    buffer = io.BytesIO()
    try:
        image.save(buffer, format=_SAVE_FORMATS.get(Path(path).suffix.lower(), "PNG"), **save_options)
    except (OSError, ValueError, KeyError) as e:
        raise UnusableFile("output image", path, f"cannot be encoded ({type(e).__name__})") from None
    atomic_write_bytes(path, buffer.getvalue(), root=root)
