"""The six open FBC2 tasks: one generator function each, and the registry that names them.

A generator takes a ``random.Random``, an instruction layout and an ``accept(key)`` predicate and
returns one SyntheticSample whose ``meta["key"]`` is its content key (what must never be shared between the
train and held-out splits), or None when ``accept`` refuses the key.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from fbc2_tasks import OPEN_TASKS, TASK_BY_NAME, OpenTask
from solution.answer_options import LETTERS, format_options, gold_forms

from . import mathqa, scenes, textqa
from .drawing import draw_scene, draw_text_image, random_text_style
from .layout import ABSENT, GLUED, SEPARATE, apply_layout, pick_instruction
from .sample import IMAGE, TEXT, Item, SyntheticSample
from .vocab import SIGN_PHRASES, SIGN_WORDS, TEXTURES

OPTION_PREFIXES = ("", "варианты: ")

# A generator draws the content first and asks ``accept(key)``; when that says no it returns None
# before any image is drawn (splits reject most candidates, so this keeps them cheap).
Accept = Callable[[str], bool]


@dataclass(frozen=True)
class TaskSpec:
    task: OpenTask  # the task's fixed facts (fbc2_tasks): name, id, training-data folder and files
    layouts: tuple[str, ...]  # instruction layouts this task's inputs can take
    make: Callable[[random.Random, str, Accept], SyntheticSample | None]

    @property
    def name(self) -> str:
        return self.task.name

    @property
    def task_id(self) -> int:
        return self.task.id

    @property
    def folder(self) -> str:
        return self.task.folder

    @property
    def file_prefix(self) -> str:
        return self.task.file_prefix


def _sample(task: str, items: list[Item], **fields) -> SyntheticSample:
    return SyntheticSample(task, TASK_BY_NAME[task].id, items, **fields)


def make_textqa(rng: random.Random, layout: str, accept: Accept) -> SyntheticSample | None:
    passage, questions = textqa.make_passage(rng)
    if not accept(passage):
        return None
    q = rng.choice(questions)
    items = [Item(TEXT, passage), Item(TEXT, q.text)]
    answers = list(dict.fromkeys(q.golds))
    with_options = rng.random() < 0.4
    if with_options:
        options_text, answers = textqa.choose_options(q, rng, rng.choice(OPTION_PREFIXES))
        items.append(Item(TEXT, options_text))
    items = apply_layout(items, pick_instruction("TextQA", rng), layout)
    meta = {"layout": layout, "key": passage, "passage": passage, "spans": q.golds,
            "options": with_options}
    return _sample("TextQA", items, answers=answers, meta=meta)


def make_mathqa(rng: random.Random, layout: str, accept: Accept) -> SyntheticSample | None:
    problem = mathqa.system(rng) if rng.random() < 0.35 else mathqa.linear(rng)
    if not accept(problem.key):
        return None
    values = mathqa.distractors(problem.answer, rng) + [problem.answer]
    rng.shuffle(values)
    letter = LETTERS[values.index(problem.answer)]
    items = [Item(TEXT, problem.statement), Item(TEXT, problem.question),
             Item(TEXT, format_options([str(v) for v in values], rng.choice(OPTION_PREFIXES)))]
    instruction = pick_instruction("MathQA-system" if problem.system else "MathQA", rng)
    items = apply_layout(items, instruction, layout)
    meta = {"layout": layout, "key": problem.key, "statement": problem.statement, "variable": problem.variable,
            "value": problem.answer, "letter": letter, "system": problem.system}
    return _sample("MathQA", items, answers=gold_forms(letter, str(problem.answer)), meta=meta)


def make_generation(rng: random.Random, layout: str, accept: Accept) -> SyntheticSample | None:
    scene = scenes.random_scene(rng)
    if not accept(scene.key()):
        return None
    texture = rng.choice(TEXTURES)
    prompt = scenes.generation_prompt(scene)
    items = apply_layout([Item(TEXT, prompt)], pick_instruction("ImageGeneration", rng), layout)
    meta = {"layout": layout, "key": scene.key(), "scene": scene, "texture": texture, "caption": prompt}
    return _sample("ImageGeneration", items, gold_image=draw_scene(scene, texture, rng), meta=meta)


def make_captioning(rng: random.Random, layout: str, accept: Accept) -> SyntheticSample | None:
    scene = scenes.random_scene(rng)
    if not accept(scene.key()):
        return None
    texture = rng.choice(TEXTURES)
    items = apply_layout([Item(IMAGE, draw_scene(scene, texture, rng))],
                         pick_instruction("ImageCaptioning", rng), layout)
    meta = {"layout": layout, "key": scene.key(), "scene": scene, "texture": texture}
    return _sample("ImageCaptioning", items, answers=scenes.caption_golds(scene), meta=meta)


def make_vqa(rng: random.Random, layout: str, accept: Accept) -> SyntheticSample | None:
    scene = scenes.random_scene(rng)
    if not accept(scene.key()):
        return None
    texture = rng.choice(TEXTURES)
    image = draw_scene(scene, texture, rng)
    question, answers, pool = scenes.vqa_question(scene, rng)
    items = [Item(TEXT, question), Item(IMAGE, image)]
    with_options = rng.random() < 0.4
    if with_options:
        options_text, answers = scenes.vqa_with_options(answers, pool, rng, rng.choice(OPTION_PREFIXES))
        items.append(Item(TEXT, options_text))
    items = apply_layout(items, pick_instruction("VisualQA", rng), layout)
    meta = {"layout": layout, "key": scene.key(), "scene": scene, "texture": texture,
            "question": question, "options": with_options}
    return _sample("VisualQA", items, answers=answers, meta=meta)


def make_tritw(rng: random.Random, layout: str, accept: Accept) -> SyntheticSample | None:
    text = rng.choice(SIGN_WORDS) if rng.random() < 0.75 else rng.choice(SIGN_PHRASES)
    case = rng.choices(["lower", "upper", "title"], weights=[5, 3, 2])[0]
    text = {"lower": text.lower(), "upper": text.upper(), "title": text[0].upper() + text[1:]}[case]
    style = random_text_style(rng)
    key = f"{text}|{style.key()}"
    if not accept(key):
        return None
    image = draw_text_image(text, style, rng)
    items = apply_layout([Item(IMAGE, image)], pick_instruction("TRitW", rng), layout)
    meta = {"layout": layout, "key": key, "text": text, "style": style}
    # The rendered string is the answer; its lower-case form is accepted too (models trained the
    # baseline way lower-case every target).
    return _sample("TRitW", items, answers=list(dict.fromkeys([text, text.lower()])), meta=meta)


# Instruction layouts and the drawing function of each task of the table (fbc2_tasks.OPEN_TASKS).
_GENERATORS: dict[str, tuple[tuple[str, ...], Callable[[random.Random, str, Accept], SyntheticSample | None]]] = {
    "TextQA": ((SEPARATE, GLUED, ABSENT), make_textqa),
    "MathQA": ((SEPARATE, GLUED, ABSENT), make_mathqa),
    # a generation input is its caption alone: with no instruction nothing would say "draw"
    "ImageGeneration": ((SEPARATE, GLUED), make_generation),
    # image-only inputs: there is no text item to glue the instruction to
    "ImageCaptioning": ((SEPARATE, ABSENT), make_captioning),
    "VisualQA": ((SEPARATE, GLUED, ABSENT), make_vqa),
    "TRitW": ((SEPARATE, ABSENT), make_tritw),
}
TASKS: dict[str, TaskSpec] = {task.name: TaskSpec(task, *_GENERATORS[task.name]) for task in OPEN_TASKS}
TASK_BY_ID: dict[int, TaskSpec] = {spec.task_id: spec for spec in TASKS.values()}
