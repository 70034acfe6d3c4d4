"""scripts/option_value_targets.py: samples with options train on the option text run.py scores."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("option_value_targets", ROOT / "scripts" / "option_value_targets.py")
ovt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ovt)

MATH_INPUT = [{"type": "text", "content": "Решите уравнение."},
              {"type": "text", "content": "2*x + 1 = 5."},
              {"type": "text", "content": "a) 3; b) 2; c) -2; d) 4"}]


def test_the_option_text_moves_to_the_front_and_every_gold_is_kept():
    choices = ovt.option_choices(MATH_INPUT)
    assert choices == {"a": "3", "b": "2", "c": "-2", "d": "4"}
    assert ovt.value_first(["b) 2", "b", "2", "b 2"], choices) == ["2", "b) 2", "b", "b 2"]


def test_answers_without_options_or_not_naming_one_are_unchanged():
    assert ovt.option_choices([{"type": "text", "content": "Где живет Иван?"}]) == {}
    assert ovt.value_first(["в Туле", "Туле"], {}) == ["в Туле", "Туле"]
    choices = ovt.option_choices(MATH_INPUT)
    assert ovt.value_first(["b) 7", "7"], choices) == ["b) 7", "7"]  # b's text is 2, not 7
    assert ovt.value_first(["2"], choices) == ["2"]  # already the option text
    assert ovt.value_first([], choices) == []


def test_rewrite_folder_changes_only_the_samples_with_options(tmp_path):
    folder = tmp_path / "mathqa"
    folder.mkdir()
    inputs = {"0": MATH_INPUT, "1": [{"type": "text", "content": "Сколько будет 2+2?"}]}
    answers = {"0": [{"type": "text", "content": ["b) 2", "b", "2", "b 2"]}],
               "1": [{"type": "text", "content": ["4"]}]}
    (folder / "math_train.json").write_text(json.dumps(inputs, ensure_ascii=False), encoding="utf-8")
    (folder / "math_train_answer.json").write_text(json.dumps(answers, ensure_ascii=False), encoding="utf-8")
    assert ovt.rewrite_folder(tmp_path) == 1
    rewritten = json.loads((folder / "math_train_answer.json").read_text(encoding="utf-8"))
    assert rewritten == {"0": [{"type": "text", "content": ["2", "b) 2", "b", "b 2"]}],
                         "1": [{"type": "text", "content": ["4"]}]}
    assert ovt.rewrite_folder(tmp_path) == 0  # a second pass finds nothing to move


def test_an_answer_file_without_its_input_file_is_a_clear_error(tmp_path):
    (tmp_path / "vqa_train_answer.json").write_text("{}", encoding="utf-8")
    with pytest.raises(SystemExit, match="has no input file vqa_train.json"):
        ovt.rewrite_folder(tmp_path)
