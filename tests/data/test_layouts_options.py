"""Instruction layouts and the `a) ...; b) ...` options format."""

from __future__ import annotations

import pytest

from synthetic_fbc2 import TASKS, format_options, generate_samples, parse_options
from synthetic_fbc2.layout import INSTRUCTIONS
from synthetic_fbc2.sample import TEXT

ALL_INSTRUCTIONS = [i for phrases in INSTRUCTIONS.values() for i in phrases]


def _instruction_position(sample) -> str:
    first = sample.items[0]
    if first.type == TEXT and first.content in ALL_INSTRUCTIONS:
        return "separate"
    if first.type == TEXT and any(first.content.startswith(i + " ") for i in ALL_INSTRUCTIONS):
        return "glued"
    assert not any(it.type == TEXT and it.content.startswith(i) for it in sample.items
                   for i in ALL_INSTRUCTIONS)
    return "absent"


@pytest.mark.parametrize("task", list(TASKS))
def test_layouts_occur_and_are_what_they_say(task):
    samples = generate_samples(task, 12, seed=0)
    seen = [_instruction_position(s) for s in samples]
    assert seen == [s.meta["layout"] for s in samples]
    assert set(seen) == set(TASKS[task].layouts)


def test_all_three_layouts_occur_in_the_sample_set(split_samples):
    assert {_instruction_position(s) for s in split_samples("sample")} == {"separate", "glued", "absent"}


def test_instruction_is_the_tasks_own(split_samples):
    for s in split_samples("sample"):
        layout = _instruction_position(s)
        if layout == "absent":
            continue
        own = INSTRUCTIONS[s.task] + INSTRUCTIONS.get(f"{s.task}-system", [])
        assert any(s.items[0].content.startswith(i) for i in own)


def test_format_and_parse_options_round_trip():
    text = format_options(["-4", "-20", "на 0,3 секунды", "a) b"], prefix="варианты: ")
    assert text == "варианты: a) -4; b) -20; c) на 0,3 секунды; d) a) b"
    assert parse_options(text)[:3] == [("a", "-4"), ("b", "-20"), ("c", "на 0,3 секунды")]
    assert parse_options("a) -4; b) -20; c) -5; d) -3") == [("a", "-4"), ("b", "-20"), ("c", "-5"), ("d", "-3")]
    assert parse_options("Чему равно y?") == []
    assert parse_options("b) 1; c) 2") == []  # letters must start at a
    with pytest.raises(ValueError):
        format_options([])


def test_every_options_item_parses(split_samples):
    found = 0
    for s in split_samples("heldout"):
        if s.task == "MathQA":
            assert parse_options(s.texts[-1]), "MathQA always has options"
        for text in s.texts:
            if ") " in text and (text.startswith("a) ") or text.startswith("варианты: a) ")):
                options = parse_options(text)
                assert len(options) >= 2
                assert [letter for letter, _ in options] == list("abcd"[: len(options)])
                assert s.answers[1] in dict(options)
                found += 1
    assert found > 50 + 2 * 10  # all 50 MathQA plus some TextQA and VisualQA
