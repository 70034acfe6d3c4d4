"""``output/predictions.json``, always complete and never half-written, with room kept for it.

Every input id gets a placeholder text answer from the start, so the file on disk is a valid
submission at every moment; answers and generated images replace placeholders as they are made.
Writes go to a temporary file that is then renamed over the old one (atomic on POSIX, links never
followed: ``fbc2_io.files``), as UTF-8 JSON, or as ASCII JSON with escapes when a lone surrogate
(which UTF-8 cannot hold) must survive. A small ``run_state.json`` beside it records which ids are
finished in which phase, so ``--resume`` continues exactly where a run stopped: nothing lost,
nothing done twice.

Space for the answers comes first: before the first image is written the store writes a reserve
file (``.space_reserve``, :func:`reserve_bytes`: what the final files can need) that
:meth:`PredictionStore.finish` removes just before the final write. When the disk is full
(``ENOSPC``) the store says so (``disk_full``: the pipeline stops generating images), removes
image files that no answer references, and retries the write; if the final write still fails it
gives up images, newest first, until the answers fit. ``on_disk`` counts what the last successful
write holds, for the summary.

Generated images are named by :func:`image_file_name`, one name per id and never the name of
another id's image.
"""

from __future__ import annotations

import errno
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fbc2_io.errors import UnusableFile
from fbc2_io.files import atomic_write_bytes, path_problem, read_text, resolve_inside

PREDICTIONS = "predictions.json"
STATE = "run_state.json"
RESERVE = ".space_reserve"
IMAGES = "images"
PHASES = ("answer", "image")
ANSWER_BYTES = 1024  # room kept per sample for its answer and image entry
RESERVE_EXTRA = 64 << 10
_PLAIN_ID = re.compile(r"[a-z0-9_.-]{1,100}")
_HASH = re.compile(r"[0-9a-f]{64}")
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)

Writer = Callable[..., None]  # atomic_write_bytes(path, data, *, root)


class ResumeMismatch(Exception):
    """``--resume`` in a folder whose run answered another input or with other answer options."""


class DiskFull(Exception):
    """The output disk (or quota) is full: no more images."""


def image_file_name(sample_id: str) -> str:
    """``image_<id>.jpg`` for ids of lower-case letters, digits, ``_ . -`` (so that no two differ
    only in case) that are not 64 hex digits; ``image_<sha256 of the id>.jpg`` for every other id.
    A plain id never takes the form of a hashed name, so two ids never share a file."""
    if _PLAIN_ID.fullmatch(sample_id) and not sample_id.startswith(".") and not _HASH.fullmatch(sample_id):
        return f"image_{sample_id}.jpg"
    return f"image_{hashlib.sha256(sample_id.encode('utf-8', 'surrogatepass')).hexdigest()}.jpg"


def json_bytes(obj: object) -> bytes:
    """``obj`` as UTF-8 JSON; as ASCII JSON with ``\\u`` escapes when a lone surrogate needs them
    (``json.loads`` gives either back unchanged)."""
    try:
        return json.dumps(obj, ensure_ascii=False, indent=1).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, ensure_ascii=True, indent=1).encode("ascii")


def reserve_bytes(ids: list[str]) -> int:
    """Bytes the final predictions.json and run_state.json can need beyond what they hold now."""
    listed = sum(len(json_bytes(i)) for i in ids)
    return 3 * listed + len(ids) * ANSWER_BYTES + RESERVE_EXTRA


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` (or an error it was raised from) is ENOSPC or EDQUOT."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, OSError) and error.errno in _DISK_FULL:
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def _read_json(path: Path, root: Path) -> object | None:
    try:
        return json.loads(read_text(path, root=root))
    except (UnusableFile, ValueError, RecursionError):
        return None


@dataclass
class OnDisk:
    """What the last successful write of predictions.json holds."""

    answers: int = 0
    images: int = 0


class PredictionStore:
    """``fingerprint`` (e.g. hashes of input.json and of the options that change answers) is written to
    run_state.json; ``load_previous`` refuses a folder whose fingerprint differs. ``writer`` writes
    every file of the output folder (``atomic_write_bytes``; tests pass a stand-in)."""

    def __init__(self, output_dir: str | Path, ids: list[str], save_every: int = 50,
                 fingerprint: dict | None = None, writer: Writer = atomic_write_bytes):
        self.dir = Path(output_dir)
        self.ids = list(ids)
        self.texts: dict[str, str] = dict.fromkeys(self.ids, "")
        self.images: dict[str, str] = {}  # in the order they were made
        self.done: dict[str, set[str]] = {phase: set() for phase in PHASES}
        self.save_every = save_every
        self.fingerprint = dict(fingerprint or {})
        self.writer = writer
        self.save_errors: list[str] = []  # periodic saves that failed (the final one raises)
        self.disk_full = False
        self.dropped_images = 0  # images given up so that the answers fit on a full disk
        self.on_disk = OnDisk()
        self._reserved = False
        self._unsaved = 0

    # -- resume -------------------------------------------------------------------------------
    def load_previous(self) -> int:
        """Adopt the finished work of an earlier run in the same folder; returns how many ids had some.
        Raises ResumeMismatch when that run had another fingerprint. Image paths from the earlier
        files are trusted only when they name a regular file inside ``images/`` of this folder."""
        state = _read_json(self.dir / STATE, self.dir)
        previous = _read_json(self.dir / PREDICTIONS, self.dir)
        if not isinstance(state, dict) or not isinstance(previous, dict):
            return 0
        recorded = state.get("fingerprint") if isinstance(state.get("fingerprint"), dict) else {}
        changed = sorted(k for k in set(recorded) | set(self.fingerprint) if recorded.get(k) != self.fingerprint.get(k))
        if changed:
            raise ResumeMismatch(f"{self.dir} holds a run with another {' and '.join(changed)}: "
                                 "pass --overwrite to start over, or another --output")
        known = set(self.ids)
        for phase in PHASES:
            listed = state.get(phase, [])
            self.done[phase] = {i for i in listed if isinstance(i, str) and i in known} if isinstance(listed, list) else set()
        for sample_id in list(self.done["answer"]):
            text = _content(previous.get(sample_id), "text")
            if isinstance(text, str):
                self.texts[sample_id] = text
            else:
                self.done["answer"].discard(sample_id)
        for sample_id in [i for i in self.ids if i in self.done["image"]]:
            image = _content(previous.get(sample_id), "image")
            if self._trusted_image(image):
                self.images[sample_id] = image
            else:
                self.done["image"].discard(sample_id)
        return len(self.done["answer"] | self.done["image"])

    def _trusted_image(self, image: object) -> bool:
        if not isinstance(image, str) or path_problem(image) or not image.startswith(f"{IMAGES}/"):
            return False
        images = self.dir / IMAGES
        try:
            path = resolve_inside(self.dir, image)
        except UnusableFile:
            return False
        if images.is_symlink() or (self.dir / image).is_symlink() or path.parent != images.resolve():
            return False
        return path.is_file()

    # -- updates ------------------------------------------------------------------------------
    def set_text(self, sample_id: str, text: str) -> None:
        self.texts[sample_id] = text
        self.done["answer"].add(sample_id)
        self._changed()

    def set_image(self, sample_id: str, relative_path: str) -> None:
        self.images[sample_id] = relative_path
        self.done["image"].add(sample_id)
        self._changed()

    def write_image(self, sample_id: str, data: bytes) -> None:
        """Save an encoded image as ``images/<image_file_name>`` and record it; DiskFull (and
        ``disk_full`` set) when the disk is full, UnusableFile on any other failure."""
        relative = f"{IMAGES}/{image_file_name(sample_id)}"
        try:
            self.writer(self.dir / relative, data, root=self.dir)
        except UnusableFile as e:
            if is_disk_full(e):
                self._on_full_disk()
                raise DiskFull(str(e)) from None
            raise
        self.set_image(sample_id, relative)

    def is_done(self, phase: str, sample_id: str) -> bool:
        return sample_id in self.done[phase]

    def _changed(self) -> None:
        self._unsaved += 1
        if self._unsaved >= self.save_every:
            try:
                self.save()
            except UnusableFile as e:  # the answer is kept in memory; the next save tries again
                self.save_errors.append(str(e))

    # -- space ----------------------------------------------------------------------------------
    def reserve_space(self) -> bool:
        """Write the reserve file (once); False, with ``disk_full`` set, when not even that fits."""
        if self._reserved:
            return True
        data = bytes(range(256)) * (reserve_bytes(self.ids) // 256 + 1)  # real blocks, not a sparse file
        try:
            self.writer(self.dir / RESERVE, data, root=self.dir)
        except UnusableFile as e:
            if not is_disk_full(e):
                raise
            self._on_full_disk()
            return False
        self._reserved = True
        return True

    def release_space(self) -> None:
        """Remove the reserve file (the final write may use its room)."""
        (self.dir / RESERVE).unlink(missing_ok=True)
        self._reserved = False

    def _on_full_disk(self) -> None:
        self.disk_full = True
        self.remove_unreferenced_images()

    def remove_unreferenced_images(self) -> int:
        """Delete files in ``images/`` that no answer names (partial or earlier files); returns how many."""
        folder = self.dir / IMAGES
        if folder.is_symlink() or not folder.is_dir():
            return 0
        kept = {Path(p).name for p in self.images.values()}
        removed = 0
        for path in folder.iterdir():
            if path.name not in kept and (path.is_symlink() or path.is_file()):
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def _drop_images(self, count: int) -> None:
        """Give up the ``count`` newest images (files and entries)."""
        for sample_id in list(self.images)[-count:]:
            relative = self.images.pop(sample_id)
            self.done["image"].discard(sample_id)
            (self.dir / relative).unlink(missing_ok=True)
            self.dropped_images += 1

    # -- output -------------------------------------------------------------------------------
    def as_dict(self) -> dict[str, list[dict]]:
        out = {}
        for sample_id in self.ids:
            items = [{"type": "text", "content": self.texts[sample_id]}]
            if sample_id in self.images:
                items.append({"type": "image", "content": self.images[sample_id]})
            out[sample_id] = items
        return out

    def _write(self) -> None:
        self.writer(self.dir / PREDICTIONS, json_bytes(self.as_dict()), root=self.dir)
        state = {phase: sorted(self.done[phase]) for phase in PHASES}
        self.writer(self.dir / STATE, json_bytes({"fingerprint": self.fingerprint, **state}), root=self.dir)
        self.on_disk = OnDisk(answers=len(self.done["answer"]), images=len(self.images))
        self._unsaved = 0

    def save(self) -> None:
        """Rewrite both files atomically (UnusableFile if they cannot be written). On a full disk,
        unreferenced images are removed and the write is tried once more."""
        try:
            self._write()
        except UnusableFile as e:
            if not is_disk_full(e):
                raise
            self._on_full_disk()
            self._write()

    def finish(self) -> None:
        """The final write: the reserve file goes, then :meth:`save`; if the disk is still too full,
        images are given up, newest first (1, 2, 4, ... at a time), until the answers fit."""
        self.release_space()
        try:
            self.save()
            return
        except UnusableFile as e:
            if not is_disk_full(e) or not self.images:
                raise
            error = e
        count = 1
        while self.images:
            self._drop_images(count)
            try:
                self._write()
                return
            except UnusableFile as e:
                if not is_disk_full(e):
                    raise
                error = e
            count *= 2
        raise error


def _content(items: object, kind: str) -> object:
    """The content of the first item of ``kind`` in a predictions entry, None if there is none."""
    if not isinstance(items, list):
        return None
    return next((it.get("content") for it in items if isinstance(it, dict) and it.get("type") == kind), None)
