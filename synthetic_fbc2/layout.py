"""Task instructions and the three FBC2 instruction layouts.

- "separate": the instruction is its own text item before the others;
- "glued": the instruction is prepended to the first text item ("Решите уравнение. 6 * y ...");
- "absent": no instruction.
"""

from __future__ import annotations

import random

from .sample import TEXT, Item

SEPARATE, GLUED, ABSENT = "separate", "glued", "absent"
ALL_LAYOUTS = (SEPARATE, GLUED, ABSENT)

INSTRUCTIONS: dict[str, list[str]] = {
    "TextQA": ["Определи правильный ответ по тексту.", "Прочитай текст и ответь на вопрос.",
               "Ответь на вопрос по тексту."],
    "MathQA": ["Решите уравнение.", "Реши линейное уравнение.", "Найди значение переменной."],
    "MathQA-system": ["Реши систему уравнений.", "Решите систему линейных уравнений.",
                      "Найди значение переменной."],
    "ImageGeneration": ["Сгенерируй изображение по тексту.", "Нарисуй картинку по описанию.",
                        "Создай изображение по описанию."],
    "ImageCaptioning": ["Что изображено на картинке?", "Опиши изображение.",
                        "Дай описание изображения."],
    "VisualQA": ["Ответь на вопрос по изображению.", "Посмотри на картинку и ответь на вопрос.",
                 "Ответь на вопрос по картинке."],
    "TRitW": ["Распознай текст на изображении.", "Прочитай надпись на картинке.",
              "Распознай текст на картинке."],
}


def apply_layout(items: list[Item], instruction: str, layout: str) -> list[Item]:
    """Place ``instruction`` in ``items`` according to ``layout`` (see module docstring)."""
    if layout == SEPARATE:
        return [Item(TEXT, instruction), *items]
    if layout == ABSENT:
        return list(items)
    if layout == GLUED:
        if not items or items[0].type != TEXT:
            raise ValueError("the glued layout needs a text item first")
        return [Item(TEXT, f"{instruction} {items[0].content}"), *items[1:]]
    raise ValueError(f"unknown layout {layout!r}")


def pick_instruction(task: str, rng: random.Random) -> str:
    return rng.choice(INSTRUCTIONS[task])


__all__ = ["ABSENT", "ALL_LAYOUTS", "GLUED", "INSTRUCTIONS", "SEPARATE", "apply_layout",
           "pick_instruction"]
