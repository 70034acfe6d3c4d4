"""TextQA answers are spans of the passage; MathQA golds solve the equations they come with."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest

from solution.answer_options import LETTERS
from synthetic_fbc2 import generate_samples, parse_options
from synthetic_fbc2.vocab import NAMES


def _option_answer(sample) -> tuple[str, str] | None:
    """(letter, option text) of the canonical gold when the sample has options."""
    options = parse_options(sample.texts[-1])
    if not options:
        return None
    letter = sample.answers[1]
    assert letter in LETTERS and sample.answers[0].startswith(f"{letter}) ")
    return letter, dict(options)[letter]


@pytest.fixture(scope="module")
def textqa():
    return generate_samples("TextQA", 200, seed=4)


def test_textqa_answers_are_passage_spans(textqa):
    for s in textqa:
        passage = s.meta["passage"]
        assert passage in " ".join(s.texts)
        for span in s.meta["spans"]:
            assert span in passage
        picked = _option_answer(s)
        if picked is None:
            assert s.answers == list(dict.fromkeys(s.meta["spans"]))
        else:
            letter, text = picked
            assert text == s.meta["spans"][0]
            assert s.answers == [f"{letter}) {text}", letter, text, f"{letter} {text}"]


def test_textqa_question_is_about_someone_in_the_passage(textqa):
    for s in textqa:
        question = s.texts[-2] if _option_answer(s) else s.texts[-1]
        assert question.endswith("?")
        people = [n for n in NAMES if re.search(rf"\b{n}\b", s.meta["passage"])]
        forms = {form for n in people for form in (n, NAMES[n][1], NAMES[n][2])}
        assert set(re.findall(r"[А-Я][а-я]+", question)) & forms, question


def test_textqa_options_and_free_answers_both_occur(textqa):
    with_options = sum(bool(_option_answer(s)) for s in textqa)
    assert 0.2 * len(textqa) < with_options < 0.6 * len(textqa)


# --- MathQA: parse the words back into equations and solve them -----------------------------------

_WORDS = [
    (r"умножить на", "*"), (r"разделить на", "/"), (r"и прибавить", "+"), (r"и вычесть", "-"),
    (r"плюс", "+"), (r"минус", "-"), (r",? то получится", "="), (r"равно", "="),
]
_EQUATION = re.compile(r"((?:-?\s*(?:\d+|[a-z])\s*(?:[-+*/]\s*(?:\d+|[a-z])\s*)*))=\s*(-?\d+)")


def parse_equations(statement: str) -> list[tuple[str, int]]:
    text = statement
    for word, symbol in _WORDS:
        text = re.sub(word, f" {symbol} ", text)
    return [(" ".join(lhs.split()), int(rhs)) for lhs, rhs in _EQUATION.findall(text)]


def _evaluate(expr: str, env: dict[str, Fraction]) -> Fraction:
    assert re.fullmatch(r"[-+*/ 0-9a-z]+", expr), expr
    return eval(expr, {"__builtins__": {}}, dict(env))  # noqa: S307 - only digits, operators, letters


def solve(equations: list[tuple[str, int]]) -> dict[str, Fraction]:
    """Solve 1 or 2 linear equations exactly by reading their coefficients off evaluations."""
    names = sorted(set(re.findall(r"[a-z]", " ".join(lhs for lhs, _ in equations))))
    assert len(names) == len(equations) in (1, 2), (equations, names)
    zero = dict.fromkeys(names, Fraction(0))
    rows = []
    for lhs, rhs in equations:
        const = _evaluate(lhs, zero)
        coeffs = [_evaluate(lhs, {**zero, n: Fraction(1)}) - const for n in names]
        rows.append((coeffs, Fraction(rhs) - const))
    if len(names) == 1:
        (a,), b = rows[0]
        return {names[0]: b / a}
    (a1, b1), c1 = rows[0]
    (a2, b2), c2 = rows[1]
    det = a1 * b2 - a2 * b1
    assert det != 0
    return {names[0]: (c1 * b2 - c2 * b1) / det, names[1]: (a1 * c2 - a2 * c1) / det}


def test_parser_reads_the_organisers_example():
    eqs = parse_equations("Если 6 умножить на y и вычесть 54, то получится -72.")
    assert eqs == [("6 * y - 54", -72)]
    assert solve(eqs) == {"y": -3}


@pytest.mark.parametrize("seed", [0, 1])
def test_mathqa_gold_solves_the_equation(seed):
    samples = generate_samples("MathQA", 150, seed=seed)
    kinds = set()
    for s in samples:
        statement = s.meta["statement"]
        assert statement in " ".join(s.texts)
        equations = parse_equations(statement)
        kinds.add(len(equations))
        solution = solve(equations)
        variable = re.search(r"\b([a-z])\b[?.]$", s.texts[-2]).group(1)
        value = solution[variable]
        assert value.denominator == 1
        letter, option_text = _option_answer(s)
        assert option_text == str(value)
        assert s.answers == [f"{letter}) {value}", letter, str(value), f"{letter} {value}"]
        options = [t for _, t in parse_options(s.texts[-1])]
        assert len(options) == 4 and len(set(options)) == 4
    assert kinds == {1, 2}, "both single equations and systems expected"
