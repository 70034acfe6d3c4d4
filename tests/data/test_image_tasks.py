"""Image contents agree with the texts: shapes are read back from the pixels (after a JPEG round
trip, as written) and compared with captions, prompts and VQA answers."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

from synthetic_fbc2 import generate_samples, parse_options, read_test_set
from synthetic_fbc2.detect import detect_scene
from synthetic_fbc2.vocab import BACKGROUNDS, COLOURS, POSITION_ALIASES, SHAPES, SIGN_PHRASES, SIGN_WORDS


def _jpeg(img: Image.Image) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _plain_answer(sample) -> str:
    """The answer value without the option letter."""
    return sample.answers[2] if parse_options(sample.texts[-1]) else sample.answers[0]


def oracle(question: str, scene) -> str:
    """Answer a VQA question from a detected scene, with no help from the generator."""
    shapes = scene.shapes
    colour_pl = {v[2]: k for k, v in COLOURS.items()}
    shape_pl = {v: k for k, v in SHAPES.items()}
    pos = r"(слева|справа|в центре)"
    if m := re.search(rf"(?:Какого цвета фигура|Какой цвет у фигуры) {pos}\?", question):
        return next(s.colour for s in shapes if s.position == m.group(1))
    if m := re.search(r"Какого цвета (\w+)\?", question):
        (s,) = [s for s in shapes if s.shape == m.group(1)]
        return s.colour
    if m := re.search(rf"Какая фигура (?:находится )?{pos}\?", question):
        return next(s.shape for s in shapes if s.position == m.group(1))
    if "Сколько фигур на картинке" in question:
        return str(len(shapes))
    if m := re.search(r"Сколько (\w+) фигур на картинке\?", question):
        return str(sum(s.colour == colour_pl[m.group(1)] for s in shapes))
    if m := re.search(r"Сколько (\w+) на картинке\?", question):
        return str(sum(s.shape == shape_pl[m.group(1)] for s in shapes))
    if m := re.search(r"Где находится (\w+) (\w+)\?", question):
        (s,) = [s for s in shapes if (s.colour, s.shape) == m.groups()]
        return s.position
    if m := re.search(r"Есть ли на картинке (\w+) (\w+)\?", question):
        return "да" if any((s.colour, s.shape) == m.groups() for s in shapes) else "нет"
    raise AssertionError(f"unknown question form: {question}")


@pytest.fixture(scope="module")
def vqa():
    return generate_samples("VisualQA", 150, seed=9)


def test_vqa_answers_match_the_drawn_shapes(vqa):
    kinds = set()
    for s in vqa:
        question = next(t for t in s.texts if t.endswith("?"))
        scene = detect_scene(_jpeg(s.images[0]))
        expected = oracle(question.split(". ")[-1], scene)
        assert expected == _plain_answer(s), (question, scene)
        kinds.add(" ".join(question.split(". ")[-1].split()[:2]))  # "Какого цвета", "Сколько фигур"...
    assert len(kinds) >= 6, kinds


def test_vqa_count_answers_are_digits(vqa):
    counts = [s for s in vqa if "Сколько" in s.texts[0] + (s.texts[1] if len(s.texts) > 1 else "")]
    assert len(counts) > 20
    for s in counts:
        assert _plain_answer(s).isdigit()


def test_vqa_option_golds(vqa):
    with_options = [s for s in vqa if parse_options(s.texts[-1])]
    assert 0.2 * len(vqa) < len(with_options) < 0.6 * len(vqa)
    for s in with_options:
        options = dict(parse_options(s.texts[-1]))
        letter = s.answers[1]
        assert options[letter] == s.answers[2]
        assert s.answers[0] == f"{letter}) {s.answers[2]}"
        assert len(set(options.values())) == len(options) >= 2


def test_captions_describe_the_drawn_shapes():
    for s in generate_samples("ImageCaptioning", 60, seed=2):
        scene = detect_scene(_jpeg(s.images[0]))
        canonical = s.answers[0]
        assert canonical.startswith("на картинке ")
        for shape in scene.shapes:
            assert f"{shape.colour} {shape.shape} {shape.position}" in canonical
        assert sum(canonical.count(name) for name in SHAPES) == len(scene.shapes)
        assert all(f"{sh.size} {sh.colour} {sh.shape}" in s.answers[-1] for sh in scene.shapes)


def test_generation_gold_image_matches_the_prompt():
    for s in generate_samples("ImageGeneration", 60, seed=2):
        assert not s.images and s.gold_image is not None
        prompt = s.texts[-1].split(". ", 1)[-1] if len(s.texts) == 1 else s.texts[-1]
        prompt = prompt.lower()
        scene = detect_scene(_jpeg(s.gold_image))
        for shape in scene.shapes:
            assert f"{shape.size} {shape.colour} {shape.shape} {shape.position}" in prompt
        assert sum(prompt.count(name) for name in SHAPES) == len(scene.shapes)
        assert BACKGROUNDS[scene.background][1] in prompt


def test_where_answers_accept_aliases(vqa):
    for s in vqa:
        if _plain_answer(s) == "в центре":
            assert set(POSITION_ALIASES["в центре"]) <= set(s.answers)


def test_tritw_images_show_their_text():
    vocabulary = {w.lower() for w in SIGN_WORDS + SIGN_PHRASES}
    for s in generate_samples("TRitW", 40, seed=3):
        text = s.answers[0]
        assert text.lower() in vocabulary and s.answers[-1] == text.lower()
        arr = np.asarray(s.images[0], dtype=np.float32)
        ink = np.linalg.norm(arr - np.array(s.meta["style"].fg, dtype=np.float32), axis=2) < 40
        assert ink.sum() > 40 * len(text.replace(" ", "")), text  # glyph pixels are really there


def test_written_set_images_agree_with_answers(sample_dir):
    samples = read_test_set(sample_dir)
    for s in samples.values():
        if s.task == "VisualQA":
            question = next(t for t in s.texts if t.endswith("?")).split(". ")[-1]
            assert oracle(question, detect_scene(s.images[0])) == _plain_answer(s)
        elif s.task == "ImageCaptioning":
            scene = detect_scene(s.images[0])
            assert all(f"{sh.colour} {sh.shape} {sh.position}" in s.answers[0] for sh in scene.shapes)
