"""``output/predictions.json``, always complete and never half-written.

Every input id gets a placeholder text answer from the start, so the file on disk is a valid
submission at every moment; answers and generated images replace placeholders as they are made.
Writes go to a temporary file that is then renamed over the old one (atomic on POSIX). A small
``run_state.json`` beside it records which ids are finished in which phase, so ``--resume``
continues exactly where a run stopped: nothing lost, nothing done twice.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

PREDICTIONS = "predictions.json"
STATE = "run_state.json"
PHASES = ("answer", "image")


def atomic_write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class PredictionStore:
    def __init__(self, output_dir: str | Path, ids: list[str], save_every: int = 50):
        self.dir = Path(output_dir)
        self.ids = list(ids)
        self.texts: dict[str, str] = dict.fromkeys(self.ids, "")
        self.images: dict[str, str] = {}
        self.done: dict[str, set[str]] = {phase: set() for phase in PHASES}
        self.save_every = save_every
        self._unsaved = 0

    # -- resume -------------------------------------------------------------------------------
    def load_previous(self) -> int:
        """Adopt the finished work of an earlier run in the same folder; returns how many ids had some."""
        state_path, pred_path = self.dir / STATE, self.dir / PREDICTIONS
        if not state_path.is_file() or not pred_path.is_file():
            return 0
        try:
            state = json.loads(state_path.read_text(encoding="utf-8"))
            previous = json.loads(pred_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return 0
        known = set(self.ids)
        for phase in PHASES:
            self.done[phase] = {i for i in state.get(phase, []) if i in known}
        for sample_id in self.done["answer"]:
            text = next((it.get("content") for it in previous.get(sample_id, []) if it.get("type") == "text"), None)
            if isinstance(text, str):
                self.texts[sample_id] = text
            else:
                self.done["answer"].discard(sample_id)
        for sample_id in list(self.done["image"]):
            image = next((it.get("content") for it in previous.get(sample_id, []) if it.get("type") == "image"), None)
            if isinstance(image, str) and (self.dir / image).is_file():
                self.images[sample_id] = image
            else:
                self.done["image"].discard(sample_id)
        return len(self.done["answer"] | self.done["image"])

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
            self.save()

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
        atomic_write_json(self.dir / PREDICTIONS, self.as_dict())
        atomic_write_json(self.dir / STATE, {phase: sorted(self.done[phase]) for phase in PHASES})
        self._unsaved = 0
