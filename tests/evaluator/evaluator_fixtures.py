"""Builders of small FBC2-format sets for the evaluator tests (imported by conftest and the tests)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from PIL import Image


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def make_image(path: Path, color, size=(32, 32)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


def text(content):
    return [{"type": "text", "content": content}]


def image(content):
    return [{"type": "image", "content": content}]


class Fbc2Set:
    """Two samples per open task. Ids: TextQA 0,1; MathQA 2,3; ImageGeneration 4,5;
    ImageCaptioning 6,7; VisualQA 8,9; TRitW 10,11."""

    def __init__(self, root: Path):
        self.root = root
        inp = root / "input"
        self.inputs = {
            "0": text("Ответь на вопрос. Кто написал роман?") + text("варианты: a) Толстой; b) Пушкин"),
            "1": text("Прочитай текст. Где живёт кот?"),
            "2": text("Реши. Чему равно x, если x + 2 = 5?"),
            "3": text("Реши. Найди y: y = 2 - 7."),
            "4": text("Сгенерируй изображение.") + text("красный квадрат"),
            "5": text("Нарисуй. синий квадрат"),
            "6": text("Опиши изображение.") + image("images/6.png"),
            "7": image("images/7.png"),
            "8": text("Ответь на вопрос по изображению. На чём едет человек?") + image("images/8.png"),
            "9": image("images/9.png") + text("Сколько котов?"),
            "10": text("Распознай текст.") + image("images/10.png"),
            "11": image("images/11.png"),
        }
        for sid in ("6", "7", "8", "9", "10", "11"):
            make_image(inp / "images" / f"{sid}.png", (int(sid) * 20, 100, 100))
        self.input_path = write_json(inp / "input.json", self.inputs)
        gt = root / "gt"
        make_image(gt / "images" / "4.png", (255, 0, 0))
        make_image(gt / "images" / "5.png", (0, 0, 255))
        self.ground_truth = {
            "0": text(["a Толстой", "a", "Толстой"]),
            "1": text(["в большом доме"]),
            "2": text(["3", "a"]),
            "3": text(["-5"]),
            "4": image("images/4.png"),
            "5": {"type": "image", "content": "images/5.png"},  # published variant: the item object itself
            "6": text(["кот сидит на окне"]),
            "7": text(["собака бежит"]),
            "8": text(["на велосипеде"]),
            "9": text(["2"]),
            "10": text(["СТОП"]),
            "11": text(["Выход"]),
        }
        self.gt_path = write_json(gt / "ground_truth.json", self.ground_truth)
        self.task_ids = {
            "0": 0,
            "1": 0,
            "2": 1,
            "3": 1,
            "4": 2,
            "5": 2,
            "6": 3,
            "7": 3,
            "8": 4,
            "9": 4,
            "10": 5,
            "11": 5,
        }
        self.task_ids_path = write_json(gt / "sample_ids.json", self.task_ids)

    def perfect_predictions(self, folder: str = "output") -> dict:
        """The ground truth as predictions (first answer of each text sample; images copied to `folder`)."""
        out = self.root / folder
        predictions = {}
        for sid, value in self.ground_truth.items():
            items = value if isinstance(value, list) else [value]
            if items[0]["type"] == "text":
                predictions[sid] = text(items[0]["content"][0])
            else:
                target = out / items[0]["content"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes((self.root / "gt" / items[0]["content"]).read_bytes())
                predictions[sid] = image(items[0]["content"])
        return predictions

    def write_predictions(self, predictions: dict, folder: str = "output") -> Path:
        return write_json(self.root / folder / "predictions.json", predictions)


# eco2AI emission CSVs (the column order eco2ai 0.3.12 writes)
HEADER = ["id", "project_name", "experiment_description", "epoch", "start_time", "duration(s)",
          "power_consumption(kWh)", "CO2_emissions(kg)", "CPU_name", "GPU_name", "OS", "region/country", "cost"]


def write_emissions(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow(row)
    return str(path)


def row(run, description, epoch, duration, kwh, co2):
    return [run, "FBC2", description, epoch, "2022-11-01 10:00:00", duration, kwh, co2,
            "Intel Xeon/2 device(s), TDP:200", "NVIDIA A100 1 device(s)", "Linux", "RU", "0"]
