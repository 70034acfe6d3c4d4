"""Offline stand-ins for the two image metrics on shape scenes (not the official CLIP / FID).

- ImageGeneration: the scene the prompt asks for against the scene ``scene_reader`` reads from the
  generated image (``generation_scores``);
- ImageCaptioning: the scene the predicted caption states (``scenes.parse_scene_text``) against the
  scene of the input image (``caption_scores``).

Every value is per sample, in [0, 1]. An F1 is over multisets: 2 x common / (predicted + asked),
1 when both are empty, 0 when only one is.
"""

from __future__ import annotations

from collections import Counter

from .drawing import Scene

# name -> the tuple of shape attributes an F1 compares
GENERATION_PARTS: dict[str, tuple[str, ...]] = {
    "triple_f1": ("colour", "shape", "position"),  # the headline value
    "colour": ("colour", "position"),
    "shape": ("shape", "position"),
    "position": ("position",),
}
CAPTION_PARTS: dict[str, tuple[str, ...]] = {
    "pair_f1": ("colour", "shape"),  # the headline value: every gold caption states these
    "triple_f1": ("colour", "shape", "position"),
}
GENERATION_HEADLINE = "triple_f1"
CAPTION_HEADLINE = "pair_f1"


def multiset_f1(predicted: Counter, asked: Counter) -> float:
    total = sum(predicted.values()) + sum(asked.values())
    if total == 0:
        return 1.0
    return 2.0 * sum((predicted & asked).values()) / total


def parts(scene: Scene, attributes: tuple[str, ...]) -> Counter:
    return Counter(tuple(getattr(s, a) for a in attributes) for s in scene.shapes)


def _f1s(predicted: Scene, asked: Scene, table: dict[str, tuple[str, ...]]) -> dict[str, float]:
    values = {name: multiset_f1(parts(predicted, attrs), parts(asked, attrs)) for name, attrs in table.items()}
    values["count"] = float(len(predicted.shapes) == len(asked.shapes))
    return values


def generation_scores(read: Scene, asked: Scene) -> dict[str, float]:
    """triple_f1, colour, shape, position (F1s, see GENERATION_PARTS), count and background (1 if equal)."""
    values = _f1s(read, asked, GENERATION_PARTS)
    values["background"] = float(read.background == asked.background)
    return values


def caption_scores(stated: Scene, truth: Scene) -> dict[str, float]:
    """pair_f1 and triple_f1 (see CAPTION_PARTS) and count (1 if equal)."""
    return _f1s(stated, truth, CAPTION_PARTS)
