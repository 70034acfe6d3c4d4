"""Reading an FBC2 ``input.json``: every sample becomes texts plus at most one image, with a warning
(never an exception) for anything odd in it.

A sample is a list of items ``{"type": "text" | "image", "content": ...}`` (a single item object is
accepted too). Texts are joined with spaces in order; the instruction may be its own item, glued to
the next one, or absent, which needs no special handling. The last readable image is used (as the
baseline does). Image paths are relative to the folder of ``input.json`` and refused when they
leave it (absolute paths, ``..``, links pointing outside).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from fbc2_io.errors import NOT_FOUND, UnusableFile
from fbc2_io.files import read_json, resolve_inside
from fbc2_io.text import has_surrogates, without_surrogates

from .images import load_image

MAX_TEXT_CHARS = 20_000  # longer texts keep their start and end (the tokenizer cuts further)
MAX_IMAGE_SECONDS = 10.0  # one sample image may take at most this long to decode ...
IMAGE_TIME_SHARE = 0.25  # ... and at most this share of the time left


class InputFileError(Exception):
    """``input.json`` cannot be read at all: one line saying where and why."""


@dataclass
class Sample:
    id: str
    text: str = ""
    texts: list[str] = field(default_factory=list)
    image: Image.Image | None = None
    image_path: str | None = None
    image_root: Path | None = None  # the folder the image must stay inside (input.json's)
    warnings: list[str] = field(default_factory=list)


@dataclass
class ParsedInput:
    path: Path
    samples: list[Sample]


def read_json_file(path: Path, what: str = "input file") -> object:
    """JSON from ``path`` or an InputFileError, one line with the file and the problem: missing,
    unreadable or not a regular file, not UTF-8, invalid JSON, nested too deep, a number too long."""
    try:
        return read_json(path, what)
    except UnusableFile as e:
        raise InputFileError(str(e)) from None


def _clip_text(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    head = MAX_TEXT_CHARS // 4
    return text[:head] + " " + text[-(MAX_TEXT_CHARS - head):]


def _text_of(content: object, sample: Sample) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(c, str) for c in content):
        sample.warnings.append("non-string text: a list of strings, joined")
        return " ".join(content)
    if isinstance(content, (int, float)) and not isinstance(content, bool):
        sample.warnings.append(f"non-string text: {type(content).__name__} used as text")
        return str(content)
    sample.warnings.append(f"non-string text: {type(content).__name__} ignored")
    return None


def resolve_image_path(root: Path, content: object) -> tuple[Path | None, str | None]:
    """The image file for ``content`` inside ``root``, or (None, reason)."""
    if not isinstance(content, str) or not content.strip():
        return None, "bad image item: content is not a path"
    try:
        resolved = resolve_inside(root, content.strip())
    except UnusableFile as e:
        return None, f"refused image path: {content!r} {e.reason}"
    try:
        resolved.stat()
    except (OSError, ValueError):
        return None, f"missing image: {content!r}"
    return resolved, None


def image_deadline(time_left: float | None) -> float:
    """The ``time.monotonic()`` by which one sample image must be decoded: at most
    ``MAX_IMAGE_SECONDS``, and at most ``IMAGE_TIME_SHARE`` of ``time_left`` (seconds) when given."""
    seconds = MAX_IMAGE_SECONDS if time_left is None else min(MAX_IMAGE_SECONDS, IMAGE_TIME_SHARE * max(time_left, 0.0))
    return time.monotonic() + seconds


def read_sample_image(path: Path, content: str, sample: Sample, root: Path | None = None,
                      time_left: float | None = None) -> Image.Image | None:
    """The image at ``path`` (inside ``root`` when given) as RGB, or None with a warning on ``sample``.
    Decoding goes through ``fbc2_io.images.open_image`` (raster formats only, bounded cost) and
    stops at :func:`image_deadline` of ``time_left``, the seconds the run may still spend."""
    try:
        img = load_image(path, what="image", root=root, deadline=image_deadline(time_left))
    except UnusableFile as e:
        reason = "missing" if e.reason == NOT_FOUND else e.reason
        sample.warnings.append(f"unreadable image: {content!r} ({reason})")
        return None
    w, h = img.size
    if min(w, h) < 8 or max(w, h) > 20 * min(w, h):
        sample.warnings.append(f"odd image: {content!r} is {w}x{h}, centre-cropped anyway")
    return img


def parse_sample(sample_id: str, value: object, root: Path, load_images: bool = True) -> Sample:
    sample = Sample(id=sample_id)
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list):
        sample.warnings.append(f"bad sample: expected a list of items, got {type(value).__name__}")
        return sample
    texts, images = [], []
    for item in items:
        if not isinstance(item, dict) or "type" not in item:
            sample.warnings.append("bad item: not an object with a type")
            continue
        kind = item.get("type")
        if kind == "text":
            text = _text_of(item.get("content"), sample)
            if text is not None and has_surrogates(text):
                sample.warnings.append("lone surrogate: replaced in a text")
                text = without_surrogates(text)
            if text is not None and text.strip():
                texts.append(text.strip())
        elif kind == "image":
            images.append(item.get("content"))
        else:
            sample.warnings.append(f"unknown item type: {kind!r} ignored")
    if len(images) > 1:
        sample.warnings.append(f"several images: {len(images)}, the last readable one is used")
    for content in reversed(images):
        path, problem = resolve_image_path(root, content)
        if problem:
            sample.warnings.append(problem)
            continue
        if not load_images:  # only the path now; the pipeline reads it when it needs it
            sample.image_path, sample.image_root = str(path), root
            break
        img = read_sample_image(path, content, sample, root)
        if img is not None:
            sample.image, sample.image_path = img, str(path)
            break
    sample.texts = texts
    sample.text = _clip_text(" ".join(texts))
    if len(" ".join(texts)) > MAX_TEXT_CHARS:
        sample.warnings.append(f"huge text: {len(' '.join(texts))} characters, the middle is cut")
    if not sample.text and sample.image is None and sample.image_path is None:
        sample.warnings.append("empty sample: no text and no image")
    return sample


def read_input(path: str | Path, load_images: bool = True) -> ParsedInput:
    """Parse ``input.json``; raises InputFileError only when the file itself is unusable."""
    path = Path(path)
    data = read_json_file(path)
    if not isinstance(data, dict):
        raise InputFileError(f"{path}: expected a JSON object of samples keyed by id, got {type(data).__name__}")
    root = path.parent
    samples = [parse_sample(str(key), value, root, load_images) for key, value in data.items()]
    return ParsedInput(path, samples)
