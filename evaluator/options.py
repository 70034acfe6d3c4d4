"""What the person scoring chooses: weights for the model-based metrics, device, extras, progress.

Each field carries its command-line flag and help in its metadata; `evaluator.cli` builds the
`score` and `leaderboard` options from them, so a setting is written once."""

from __future__ import annotations

from dataclasses import dataclass, field


def _option(default, flag: str, help: str, *, metavar: str | None = None, invert: bool = False):
    """A field with its flag; `invert`: a boolean on by default that the flag turns off."""
    return field(default=default, metadata={"flag": flag, "help": help, "metavar": metavar, "invert": invert})


@dataclass(frozen=True)
class ScoreOptions:
    clip_weights: str | None = _option(None, "--clip-weights", "local ruCLIP ruclip-vit-large-patch14-336 folder",
                                       metavar="DIR")
    inception_weights: str | None = _option(None, "--inception-weights",
                                            "local pt_inception-2015-12-05 weights for FID", metavar="FILE")
    ruwordnet: str | None = _option(None, "--ruwordnet", "RuWordNet SQLite database for METEOR's synonym stage",
                                    metavar="DB")
    device: str = _option("cpu", "--device", "torch device for CLIP/FID (default: {default})")
    extras: bool = _option(True, "--no-extras", "skip the non-official BLEU/ROUGE-L/CIDEr extras", invert=True)
    progress: bool = _option(True, "--quiet", "no progress bars", invert=True)
    allow_id_mismatch: bool = _option(
        False, "--allow-id-mismatch", "score predictions even when most of their ids are not in the ground truth "
        "or lack their task's output type (they look like another set's); a warning is kept in the report")
