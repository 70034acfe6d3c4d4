"""What the person scoring chooses: weights for the model-based metrics, device, extras, progress."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScoreOptions:
    clip_weights: str | None = None
    inception_weights: str | None = None
    ruwordnet: str | None = None
    device: str = "cpu"
    extras: bool = True
    progress: bool = True
    allow_id_mismatch: bool = False  # score predictions that look like another set's (with a warning)
