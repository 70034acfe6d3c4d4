"""MathQA: linear equations and 2x2 systems written in words or symbols, always with options."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .vocab import VARIABLES


@dataclass
class Problem:
    statement: str  # the equation(s), without the question
    question: str
    variable: str  # the unknown asked for
    answer: int
    key: str  # canonical equation, independent of wording and variable names
    system: bool


def _nonzero(rng: random.Random, lo: int, hi: int) -> int:
    return rng.choice([v for v in range(lo, hi + 1) if v != 0])


def _question(rng: random.Random, v: str) -> str:
    return rng.choice([f"Чему равно {v}?", f"Найди {v}.", f"Каково значение {v}?",
                       f"Найдите значение {v}."])


def linear(rng: random.Random) -> Problem:
    v = rng.choice(VARIABLES)
    form = rng.choice(["if_add", "if_sub", "if_div", "words_plus", "words_minus", "sym_plus", "sym_minus"])
    a = _nonzero(rng, -9, 9)
    if a in (-1, 1):
        a *= 2
    b = rng.randint(1, 60)
    if form == "if_div":
        a = abs(a)
        s = a * rng.randint(-8, 8)
        c = s // a + b
        statement = f"Если {v} разделить на {a} и прибавить {b}, то получится {c}."
        return Problem(statement, _question(rng, v), v, s, f"lin:_/{a}+{b}={c}", False)
    s = rng.randint(-15, 15)
    sign = 1 if form.endswith(("add", "plus")) else -1
    c = a * s + sign * b
    statement = {
        "if_add": f"Если {a} умножить на {v} и прибавить {b}, то получится {c}.",
        "if_sub": f"Если {a} умножить на {v} и вычесть {b}, то получится {c}.",
        "words_plus": f"{a} умножить на {v} плюс {b} равно {c}.",
        "words_minus": f"{a} умножить на {v} минус {b} равно {c}.",
        "sym_plus": f"{a}*{v} + {b} = {c}.",
        "sym_minus": f"{a}*{v} - {b} = {c}.",
    }[form]
    return Problem(statement, _question(rng, v), v, s, f"lin:{a}*_{sign * b:+d}={c}", False)


def _term(coef: int, var: str, first: bool, words: bool) -> str:
    """One term of a linear expression: "3*x", " - y", " плюс 2 умножить на y"..."""
    mag = abs(coef)
    body = var if mag == 1 else (f"{mag} умножить на {var}" if words else f"{mag}*{var}")
    if first:
        return body if coef > 0 else f"-{body}"
    if words:
        return f" {'плюс' if coef > 0 else 'минус'} {body}"
    return f" {'+' if coef > 0 else '-'} {body}"


def system(rng: random.Random) -> Problem:
    u, w = rng.sample(VARIABLES, 2)
    su, sw = rng.randint(-9, 9), rng.randint(-9, 9)
    while True:
        a1, b1, a2, b2 = (_nonzero(rng, -5, 5) for _ in range(4))
        if a1 * b2 - a2 * b1 != 0:
            break
    c1, c2 = a1 * su + b1 * sw, a2 * su + b2 * sw
    words = rng.random() < 0.5
    eq = "равно" if words else "="

    def equation(a: int, b: int, c: int) -> str:
        return f"{_term(a, u, True, words)}{_term(b, w, False, words)} {eq} {c}"

    joiner = rng.choice([", а ", " и "]) if words else rng.choice(["; ", " и "])
    statement = f"{equation(a1, b1, c1)}{joiner}{equation(a2, b2, c2)}."
    asked_first = rng.random() < 0.5
    var, ans = (u, su) if asked_first else (w, sw)
    key = f"sys:{a1},{b1},{c1};{a2},{b2},{c2};{'u' if asked_first else 'w'}"
    return Problem(statement, _question(rng, var), var, ans, key, True)


def distractors(answer: int, rng: random.Random, k: int = 3) -> list[int]:
    pool = [answer + d for d in (-3, -2, -1, 1, 2, 3, 10, -10)] + [-answer, 2 * answer]
    pool = [p for p in dict.fromkeys(pool) if p != answer]
    return rng.sample(pool, k)
