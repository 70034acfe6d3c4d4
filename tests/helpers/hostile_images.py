"""Hostile image files built the way a stranger would build them (byte surgery on real files)."""

from __future__ import annotations

import io
import re
import struct
import zlib

from PIL import Image

_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def jpeg_bytes(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def many_scan_jpeg(side: int, scans: int) -> bytes:
    """A progressive JPEG of a flat ``side`` x ``side`` picture whose first (DC) scan is repeated
    until the file holds ``scans`` scans: libjpeg warns about the bogus progression and decodes every
    one of them, each a pass over all the pixels."""
    data = jpeg_bytes(Image.new("RGB", (side, side), (120, 130, 140)), progressive=True, quality=90)
    sos = data.index(b"\xff\xda")
    header_end = sos + 2 + int.from_bytes(data[sos + 2:sos + 4], "big")
    scan = data[sos:_NEXT_MARKER.search(data, header_end).start()]
    own = data.count(b"\xff\xda")
    eoi = data.rindex(b"\xff\xd9")
    return data[:eoi] + scan * (scans - own) + data[eoi:]


def with_comment(jpeg: bytes, comment: bytes) -> bytes:
    """``jpeg`` with a COM segment right after SOI."""
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + jpeg[2:]


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels but holds almost no data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


POSTSCRIPT = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nnewpath 0 0 moveto 100 100 lineto stroke\nshowpage\n"
DOS_EPS = b"\xc5\xd0\xd3\xc6" + struct.pack("<IIIIIIH", 30, len(POSTSCRIPT), 0, 0, 0, 0, 0xFFFF) + POSTSCRIPT
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
