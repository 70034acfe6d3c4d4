#!/usr/bin/env python3
"""Make the training target of every sample with answer options the option's text, as run.py scores it.

  python scripts/option_value_targets.py runs/cont/data      # rewrites the *_answer.json files in place

Training uses the first gold answer (``content[0]``), which for a sample with options is
``"c) -21"``. ``run.py --options score`` (the default) scores each option's text alone (``"-21"``)
as the right text and never the letter, so a model trained on ``"c) -21"`` is asked at inference
for a first token it never learned to put first, and the choice degrades to chance (MathQA, where
every sample has options). This moves the bare option text to the front of ``content`` (the list
keeps every gold, so the training folders still score the same); samples without options, or whose
first gold is not ``"<letter>) <one of the options>"``, are left as they are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from solution.answer_options import parse_options  # noqa: E402


def option_choices(items: list[dict]) -> dict[str, str]:
    """``{letter: option text}`` of the last text item carrying at least two options, as run.py finds them."""
    for item in reversed(items):
        if item.get("type") == "text":
            choices = parse_options(item["content"])
            if len(choices) >= 2:
                return dict(choices)
    return {}


def value_first(answers: list[str], choices: dict[str, str]) -> list[str]:
    """``answers`` with the option text of ``answers[0]`` (``"c) -21"`` -> ``"-21"``) moved to the front."""
    if not answers or not choices:
        return answers
    letter, sep, text = answers[0].partition(") ")
    if not sep or choices.get(letter) != text:
        return answers
    return [text] + [a for a in answers if a != text]


def rewrite_folder(folder: Path) -> int:
    """Rewrite every ``*_answer.json`` under ``folder``; returns how many samples changed."""
    changed = 0
    for answer_file in sorted(folder.rglob("*_answer.json")):
        input_file = answer_file.with_name(answer_file.name.replace("_answer.json", ".json"))
        if not input_file.is_file():
            raise SystemExit(f"option_value_targets: {answer_file} has no input file {input_file.name}")
        inputs = json.loads(input_file.read_text(encoding="utf-8"))
        answers = json.loads(answer_file.read_text(encoding="utf-8"))
        for sample_id, items in answers.items():
            choices = option_choices(inputs.get(sample_id, []))
            for item in items:
                if item.get("type") == "text" and isinstance(item.get("content"), list):
                    new = value_first(item["content"], choices)
                    changed += new != item["content"]
                    item["content"] = new
        answer_file.write_text(json.dumps(answers, ensure_ascii=False), encoding="utf-8")
    return changed


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path, help="FBC2 training folders (make_sample_input.py --split train)")
    args = p.parse_args(argv)
    if not args.folder.is_dir():
        p.error(f"{args.folder} is not a folder")
    print(f"option_value_targets: {rewrite_folder(args.folder)} samples now train on the option text")


if __name__ == "__main__":
    main()
