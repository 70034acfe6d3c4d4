"""``output/predictions.json``, always complete and never half-written.

Every input id gets a placeholder text answer from the start, so the file on disk is a valid
submission at every moment; answers and generated images replace placeholders as they are made.
Writes go to a temporary file that is then renamed over the old one (atomic on POSIX, links never
followed: ``fbc2_io.files``), as ASCII JSON so that ids with lone surrogates survive. A small
``run_state.json`` beside it records which ids are finished in which phase, so ``--resume``
continues exactly where a run stopped: nothing lost, nothing done twice.
"""

from __future__ import annotations

import json
from pathlib import Path

from fbc2_io.errors import UnusableFile
from fbc2_io.files import atomic_write_json, path_problem, read_text, resolve_inside

PREDICTIONS = "predictions.json"
STATE = "run_state.json"
PHASES = ("answer", "image")


class ResumeMismatch(Exception):
    """``--resume`` in a folder whose run answered another input or with other answer options."""


def _read_json(path: Path, root: Path) -> object | None:
    try:
        return json.loads(read_text(path, root=root))
    except (UnusableFile, ValueError, RecursionError):
        return None


class PredictionStore:
    """``fingerprint`` (e.g. hashes of input.json and of the options that change answers) is written to
    run_state.json; ``load_previous`` refuses a folder whose fingerprint differs."""

    def __init__(self, output_dir: str | Path, ids: list[str], save_every: int = 50,
                 fingerprint: dict | None = None):
        self.dir = Path(output_dir)
        self.ids = list(ids)
        self.texts: dict[str, str] = dict.fromkeys(self.ids, "")
        self.images: dict[str, str] = {}
        self.done: dict[str, set[str]] = {phase: set() for phase in PHASES}
        self.save_every = save_every
        self.fingerprint = dict(fingerprint or {})
        self.save_errors: list[str] = []  # periodic saves that failed (the final one raises)
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
        for sample_id in list(self.done["image"]):
            image = _content(previous.get(sample_id), "image")
            if self._trusted_image(image):
                self.images[sample_id] = image
            else:
                self.done["image"].discard(sample_id)
        return len(self.done["answer"] | self.done["image"])

    def _trusted_image(self, image: object) -> bool:
        if not isinstance(image, str) or path_problem(image) or not image.startswith("images/"):
            return False
        images = self.dir / "images"
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

    def is_done(self, phase: str, sample_id: str) -> bool:
        return sample_id in self.done[phase]

    def _changed(self) -> None:
        self._unsaved += 1
        if self._unsaved >= self.save_every:
            try:
                self.save()
            except UnusableFile as e:  # the answer is kept in memory; the next save tries again
                self.save_errors.append(str(e))

    # -- output -------------------------------------------------------------------------------
    def as_dict(self) -> dict[str, list[dict]]:
        out = {}
        for sample_id in self.ids:
            items = [{"type": "text", "content": self.texts[sample_id]}]
            if sample_id in self.images:
                items.append({"type": "image", "content": self.images[sample_id]})
            out[sample_id] = items
        return out

    def save(self) -> None:
        """Rewrite both files atomically (UnusableFile if they cannot be written)."""
        atomic_write_json(self.dir / PREDICTIONS, self.as_dict(), root=self.dir)
        state = {phase: sorted(self.done[phase]) for phase in PHASES}
        atomic_write_json(self.dir / STATE, {"fingerprint": self.fingerprint, **state}, root=self.dir)
        self._unsaved = 0


def _content(items: object, kind: str) -> object:
    """The content of the first item of ``kind`` in a predictions entry, None if there is none."""
    if not isinstance(items, list):
        return None
    return next((it.get("content") for it in items if isinstance(it, dict) and it.get("type") == kind), None)
