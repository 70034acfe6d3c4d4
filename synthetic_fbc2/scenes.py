"""Shape scenes: random scenes, their captions, and questions about them (VisualQA)."""

from __future__ import annotations

import random
import re

from solution.answer_options import LETTERS, format_options, gold_forms

from .drawing import Scene, Shape
from .vocab import BACKGROUNDS, COLOURS, POSITION_ALIASES, POSITIONS, SHAPES, SIZES


def random_scene(rng: random.Random) -> Scene:
    count = rng.choices([1, 2, 3], weights=[3, 4, 3])[0]
    positions = sorted(rng.sample(list(POSITIONS), count), key=lambda p: POSITIONS[p])
    shapes = tuple(
        Shape(shape=rng.choice(list(SHAPES)), colour=rng.choice(list(COLOURS)),
              size=rng.choice(list(SIZES)), position=pos)
        for pos in positions
    )
    return Scene(background=rng.choice(list(BACKGROUNDS)), shapes=shapes)


def join_words(parts: list[str]) -> str:
    """["a"] -> "a"; ["a", "b"] -> "a и b"; ["a", "b", "c"] -> "a, b и c"."""
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " и " + parts[-1]


def caption_with_positions(scene: Scene) -> str:
    return "на картинке " + join_words([f"{s.colour} {s.shape} {s.position}" for s in scene.shapes])


def caption_plain(scene: Scene) -> str:
    return "на картинке " + join_words([f"{s.colour} {s.shape}" for s in scene.shapes])


def caption_full(scene: Scene) -> str:
    """Everything the scene key holds: sizes, colours, shapes, positions and the background."""
    parts = [f"{s.size} {s.colour} {s.shape} {s.position}" for s in scene.shapes]
    return join_words(parts) + " " + BACKGROUNDS[scene.background][1]


def generation_prompt(scene: Scene) -> str:
    text = caption_full(scene)
    return text[0].upper() + text[1:] + "."


def caption_golds(scene: Scene) -> list[str]:
    """Captioning golds, canonical first."""
    return list(dict.fromkeys([caption_with_positions(scene), caption_plain(scene), caption_full(scene)]))


# --- VisualQA ----------------------------------------------------------------------------------

def _options(rng: random.Random, answer: str, pool: list[str], k: int) -> tuple[list[str], str]:
    """``k`` options: ``answer`` plus distinct distractors from ``pool``, shuffled; returns
    (options, letter of the answer)."""
    distractors = [p for p in pool if p != answer]
    chosen = rng.sample(distractors, min(k - 1, len(distractors))) + [answer]
    rng.shuffle(chosen)
    return chosen, LETTERS[chosen.index(answer)]


def _colour_answers(colour: str) -> list[str]:
    return [colour, COLOURS[colour][1], f"{COLOURS[colour][1]} цвета"]


def vqa_question(scene: Scene, rng: random.Random) -> tuple[str, list[str], list[str]]:
    """Return (question, golds with the canonical first, option pool for distractors)."""
    shapes = scene.shapes
    # question kinds with weights: counts are a quarter at most, so a constant number (which the
    # numeric VQA rule gives partial credit) cannot score well
    kinds = {"colour_at": 3, "shape_at": 3, "count_all": 1, "count_shape": 1, "count_colour": 1, "exists": 2}
    by_shape = {s.shape: [t for t in shapes if t.shape == s.shape] for s in shapes}
    by_pair = {(s.colour, s.shape): [t for t in shapes if (t.colour, t.shape) == (s.colour, s.shape)]
               for s in shapes}
    if any(len(v) == 1 for v in by_shape.values()):
        kinds["colour_of"] = 2
    if any(len(v) == 1 for v in by_pair.values()):
        kinds["where"] = 2
    kind = rng.choices(list(kinds), weights=list(kinds.values()))[0]
    colours, shape_names = list(COLOURS), list(SHAPES)
    counts = [str(i) for i in range(0, 4)]

    if kind == "colour_at":
        s = rng.choice(shapes)
        q = rng.choice([f"Какого цвета фигура {s.position}?", f"Какой цвет у фигуры {s.position}?"])
        return q, _colour_answers(s.colour), colours
    if kind == "colour_of":
        s = rng.choice([v[0] for v in by_shape.values() if len(v) == 1])
        return f"Какого цвета {s.shape}?", _colour_answers(s.colour), colours
    if kind == "shape_at":
        s = rng.choice(shapes)
        q = rng.choice([f"Какая фигура {s.position}?", f"Какая фигура находится {s.position}?"])
        return q, [s.shape], shape_names
    if kind == "count_all":
        return "Сколько фигур на картинке?", [str(len(shapes))], counts[1:]
    if kind == "count_shape":
        shape = rng.choice([s.shape for s in shapes]) if rng.random() < 0.75 else rng.choice(shape_names)
        n = sum(s.shape == shape for s in shapes)
        return f"Сколько {SHAPES[shape]} на картинке?", [str(n)], counts
    if kind == "count_colour":
        colour = rng.choice([s.colour for s in shapes]) if rng.random() < 0.75 else rng.choice(colours)
        n = sum(s.colour == colour for s in shapes)
        return f"Сколько {COLOURS[colour][2]} фигур на картинке?", [str(n)], counts
    if kind == "where":
        s = rng.choice([v[0] for v in by_pair.values() if len(v) == 1])
        return f"Где находится {s.colour} {s.shape}?", list(POSITION_ALIASES[s.position]), list(POSITIONS)
    # exists
    if rng.random() < 0.5:
        s = rng.choice(shapes)
        colour, shape = s.colour, s.shape
    else:
        colour, shape = rng.choice(colours), rng.choice(shape_names)
    present = any((s.colour, s.shape) == (colour, shape) for s in shapes)
    return f"Есть ли на картинке {colour} {shape}?", ["да" if present else "нет"], ["да", "нет"]


def vqa_with_options(golds: list[str], pool: list[str], rng: random.Random,
                     prefix: str) -> tuple[str, list[str]]:
    """Options text and the option golds (letter forms of the canonical answer, then aliases)."""
    k = min(len(pool), rng.choice([2, 3, 4]))
    options, letter = _options(rng, golds[0], pool, max(k, 2))
    return format_options(options, prefix), list(dict.fromkeys(gold_forms(letter, golds[0]) + golds[1:]))


# --- reading a caption back ----------------------------------------------------------------------

def _alternatives(words) -> str:
    return "|".join(sorted(map(re.escape, words), key=len, reverse=True))


_MENTION = re.compile(
    rf"(?:({_alternatives(SIZES)})\s+)?({_alternatives(COLOURS)})\s+({_alternatives(SHAPES)})"
    rf"(?:\s+({_alternatives(name for names in POSITION_ALIASES.values() for name in names)}))?")
_BACKGROUND = {phrase.split()[1]: name for name, (_, phrase) in BACKGROUNDS.items()}  # "белом" -> "белый"
_BACKGROUND_PHRASE = re.compile(rf"на\s+({_alternatives(_BACKGROUND)})\s+фоне")
_POSITION_BY_ALIAS = {alias: name for name, aliases in POSITION_ALIASES.items() for alias in aliases}


def parse_scene_text(text: str) -> Scene:
    """The scene a caption or generation prompt states: every "[size] colour shape [position]" it
    mentions, in order, and "на ... фоне". What the text leaves out is None (size, position,
    background); words outside the vocabulary are skipped, so any text parses (to no shapes)."""
    text = text.lower().replace("ё", "е")
    shapes = tuple(Shape(shape=m.group(3), colour=m.group(2), size=m.group(1),
                         position=_POSITION_BY_ALIAS.get(m.group(4)))
                   for m in _MENTION.finditer(text))
    background = _BACKGROUND_PHRASE.search(text)
    return Scene(background=_BACKGROUND[background.group(1)] if background else None, shapes=shapes)
