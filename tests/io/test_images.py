"""fbc2_io.images.open_image: the one loader for images from strangers."""

import io
import os
import time

import pytest
from helpers.hostile_images import (
    DOS_EPS,
    PDF,
    POSTSCRIPT,
    jpeg_bytes,
    many_scan_jpeg,
    png_claiming,
    with_comment,
)
from PIL import EpsImagePlugin, Image, features

from fbc2_io import images
from fbc2_io.errors import NOT_REGULAR, UnusableFile
from fbc2_io.images import MAX_JPEG_SCANS, RASTER_FORMATS, jpeg_scan_count, open_image, save_image


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", RASTER_FORMATS)
def test_every_raster_format_opens_loaded_in_its_own_mode(fmt):
    if fmt == "WEBP" and not features.check("webp"):
        pytest.skip("this Pillow has no WebP")
    original = Image.new("RGB", (40, 30), (10, 200, 30))
    image = open_image(encoded(original, fmt))
    assert image.format == fmt and image.size == (40, 30)
    assert image.convert("RGB").getpixel((5, 5))[1] > 150  # decoded, not just opened


@pytest.mark.parametrize("content", [POSTSCRIPT, DOS_EPS, PDF], ids=["ps", "dos-eps", "pdf"])
def test_postscript_and_pdf_named_jpg_never_reach_ghostscript(tmp_path, monkeypatch, content):
    def ghostscript(*args, **kwargs):
        raise AssertionError("Ghostscript was started")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", ghostscript)
    monkeypatch.setattr(EpsImagePlugin, "has_ghostscript", lambda: True)
    path = tmp_path / "cat.jpg"
    path.write_bytes(content)
    with pytest.raises(UnusableFile, match="not an image in a known raster format"):
        open_image(path)


def test_a_progressive_jpeg_with_too_many_scans_is_refused_before_decoding(monkeypatch):
    data = many_scan_jpeg(256, MAX_JPEG_SCANS + 50)
    assert jpeg_scan_count(data) == MAX_JPEG_SCANS + 50
    Image.open(io.BytesIO(data)).load()  # libjpeg itself decodes it (slowly when big)

    def no_decoding(self):
        raise AssertionError("decoding started")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    with pytest.raises(UnusableFile, match=f"JPEG with {MAX_JPEG_SCANS + 50} scans"):
        open_image(data)


def test_scan_markers_inside_metadata_are_not_counted():
    plain = jpeg_bytes(Image.new("RGB", (16, 16)), progressive=True)
    padded = with_comment(plain, b"\xff\xda" * 1000)
    assert jpeg_scan_count(padded) == jpeg_scan_count(plain) < 20
    assert open_image(padded).size == (16, 16)


def test_a_slow_jpeg_stops_at_the_deadline():
    """A file within the scan limit but big: decoding takes far longer than the deadline allows."""
    data = many_scan_jpeg(4096, MAX_JPEG_SCANS)
    start = time.monotonic()
    Image.open(io.BytesIO(data)).load()
    full = time.monotonic() - start
    assert full > 0.2  # the test means something only if decoding is slow
    with pytest.raises(UnusableFile, match="deadline passed"):
        open_image(data, deadline=time.monotonic() + 0.02)
    with pytest.raises(UnusableFile, match="deadline passed"):
        open_image(data, deadline=time.monotonic() - 1)


def test_a_header_claiming_huge_pixels_is_refused_unread():
    with pytest.raises(UnusableFile, match=r"too many pixels \(Image size \(10000000000 pixels\) exceeds limit"):
        open_image(png_claiming(100_000, 100_000), max_pixels=10**12)  # Pillow's own bomb check
    with pytest.raises(UnusableFile, match="3000x3000 is more than 1000000 pixels"):
        open_image(png_claiming(3000, 3000), max_pixels=1_000_000)


def test_a_big_jpeg_is_decoded_at_reduced_scale_instead_of_refused():
    data = jpeg_bytes(Image.new("RGB", (4000, 3000), (200, 10, 10)))
    assert open_image(data, max_pixels=1_000_000).size == (1000, 750)  # 1/4 fits, 1/2 does not
    assert open_image(data, min_side=700).size == (1000, 750)  # the caller needs only 700 pixels
    assert open_image(data, min_side=2000).size == (4000, 3000)
    with pytest.raises(UnusableFile, match="even at 1/8 scale"):
        open_image(data, max_pixels=100_000)


@pytest.mark.parametrize("content,reason", [
    (b"", "empty file"),
    (b"hello, I am a text file", "not an image in a known raster format"),
    (jpeg_bytes(Image.new("RGB", (64, 64)))[:300], "broken image"),
])
def test_broken_files_are_one_line(tmp_path, content, reason):
    path = tmp_path / "x.png"
    path.write_bytes(content)
    with pytest.raises(UnusableFile) as caught:
        open_image(path, what="sample image")
    assert str(caught.value).startswith(f"sample image {path}: {reason}") and "\n" not in str(caught.value)


def test_paths_fifo_size_limit_and_file_objects(tmp_path):
    os.mkfifo(tmp_path / "fifo.jpg")
    with pytest.raises(UnusableFile) as caught:
        open_image(tmp_path / "fifo.jpg")
    assert caught.value.reason == NOT_REGULAR
    data = jpeg_bytes(Image.new("RGB", (32, 32)))
    with pytest.raises(UnusableFile, match="bigger than 100 bytes"):
        open_image(io.BytesIO(data), max_bytes=100)
    assert open_image(io.BytesIO(data)).size == (32, 32)


def test_the_block_size_bounds_the_deadline_check(monkeypatch):
    """The decoder gets READ_BLOCK bytes at a time, so the clock is read often."""
    reads = []
    original = images._DeadlineReader.read

    def counting(self, size=-1):
        reads.append(size)
        return original(self, size)

    monkeypatch.setattr(images._DeadlineReader, "read", counting)
    open_image(many_scan_jpeg(512, 20), deadline=time.monotonic() + 60)
    assert images.READ_BLOCK in reads and max(reads) <= max(images.READ_BLOCK, 1 << 16)


def test_save_image_writes_a_readable_image(tmp_path):
    save_image(Image.new("RGB", (8, 8), (255, 0, 0)), tmp_path / "images" / "x.jpg", root=tmp_path, quality=95)
    assert open_image(tmp_path / "images" / "x.jpg").format == "JPEG"
