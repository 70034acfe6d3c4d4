"""TextQA: templated passages about a person, extractive questions, optional options."""

from __future__ import annotations

import random
from dataclasses import dataclass

from solution.answer_options import LETTERS, format_options, gold_forms

from .vocab import (
    CITIES,
    FAVOURITE_COLOURS,
    HOBBIES,
    JOBS,
    NAMES,
    PET_NAMES,
    PETS,
    PRONOUNS,
    TRANSPORT,
)


def years_word(n: int) -> str:
    if n % 100 in (11, 12, 13, 14):
        return "лет"
    return {1: "год", 2: "года", 3: "года", 4: "года"}.get(n % 10, "лет")


@dataclass
class Question:
    text: str
    golds: list[str]  # extractive spans of the passage, canonical first
    pool: list[str]  # same-category values for distractor options


def _cap(s: str) -> str:
    return s[0].upper() + s[1:]


def make_passage(rng: random.Random) -> tuple[str, list[Question]]:
    """A passage of 4-6 sentences and the questions it can answer."""
    name = rng.choice(list(NAMES))
    gender, name_gen, name_dat = NAMES[name]
    pr = PRONOUNS[gender]
    city = rng.choice(list(CITIES))
    in_city = f"в {CITIES[city]}"
    all_in_cities = [f"в {c}" for c in CITIES.values()]

    sentences = [f"{name} живет {in_city}."]
    questions = [Question(rng.choice([f"В каком городе живет {name}?", f"Где живет {name}?"]),
                          [in_city, CITIES[city]], all_in_cities)]

    facts: list[tuple[str, Question]] = []
    age = rng.randint(18, 70)
    age_text = f"{age} {years_word(age)}"
    facts.append((f"{_cap(pr['dat'])} {age_text}.",
                  Question(f"Сколько лет {name_dat}?", [age_text, str(age)],
                           [f"{a} {years_word(a)}" for a in range(max(18, age - 9), min(70, age + 9) + 1)])))
    job = rng.choice(JOBS)
    facts.append((f"{_cap(pr['nom'])} работает {job}.",
                  Question(f"Кем работает {name}?", [job, f"работает {job}"], JOBS)))
    pet = rng.choice(list(PETS))
    pet_name = rng.choice(PET_NAMES)
    facts.append((f"У {pr['gen']} есть {pet} по кличке {pet_name}.",
                  rng.choice([
                      Question(f"Как зовут {PETS[pet]} {name_gen}?", [pet_name], PET_NAMES),
                      Question(f"Какое животное есть у {name_gen}?", [pet, f"{pet} по кличке {pet_name}"],
                               list(PETS)),
                  ])))
    transport = rng.choice(TRANSPORT)
    facts.append((f"На работу {pr['nom']} ездит {transport}.",
                  Question(f"На чем {name} ездит на работу?", [transport, transport[3:]], TRANSPORT)))
    hobby, hobby_short = rng.choice(HOBBIES)
    facts.append((f"По выходным {pr['nom']} {hobby}.",
                  Question(f"Чем {name} занимается по выходным?", [hobby, hobby_short],
                           [h for h, _ in HOBBIES])))
    colour = rng.choice(FAVOURITE_COLOURS)
    facts.append((f"{_cap(pr['poss'])} любимый цвет — {colour}.",
                  Question(f"Какой любимый цвет у {name_gen}?", [colour], FAVOURITE_COLOURS)))
    chosen = rng.sample(facts, rng.randint(3, 4))

    if rng.random() < 0.5:  # a sibling: a second person whose facts are distractors
        name2 = rng.choice([n for n in NAMES if n != name])
        gender2 = NAMES[name2][0]
        sibling = PRONOUNS[gender2]["sibling"]
        city2 = rng.choice([c for c in CITIES if c != city])
        job2 = rng.choice([j for j in JOBS if j != job])
        sibling_acc = "брата" if sibling == "брат" else "сестру"
        sentence = f"{_cap(pr['poss'])} {sibling} {name2} живет в {CITIES[city2]} и работает {job2}."
        sib_questions = [
            Question(f"В каком городе живет {name2}?", [f"в {CITIES[city2]}", CITIES[city2]],
                     [in_city] + all_in_cities),
            Question(f"Кем работает {name2}?", [job2], [job] + JOBS),
            Question(f"Как зовут {sibling_acc} {name_gen}?", [name2],
                     [n for n in NAMES if NAMES[n][0] == gender2 and n != name]),
        ]
        rng.shuffle(chosen)
        chosen.append((sentence, rng.choice(sib_questions)))  # last, so "он"/"она" stay unambiguous
    else:
        rng.shuffle(chosen)
    sentences += [s for s, _ in chosen]
    questions += [q for _, q in chosen]
    return " ".join(sentences), questions


def choose_options(question: Question, rng: random.Random, prefix: str) -> tuple[str, list[str]]:
    """Options text (3 or 4 options, the canonical span among them) and the option golds."""
    answer = question.golds[0]
    pool = list(dict.fromkeys(p for p in question.pool if p != answer))
    options = rng.sample(pool, rng.choice([2, 3])) + [answer]
    rng.shuffle(options)
    letter = LETTERS[options.index(answer)]
    return format_options(options, prefix), gold_forms(letter, answer)
