"""Writing and reading generated samples in the FBC2 file formats.

Test-set layout (as the organisers' sample set): ``input.json``, ``ground_truth.json``,
``sample_ids.json`` and ``images/`` in one folder; ids "0".."N-1"; input images
``images/00012.jpg``; ground-truth images of ImageGeneration ``images/gt_00012.jpg`` (referenced
only from ground_truth.json).

Training layout (as the organisers' ``fb_train_2022`` archive and their training config): one
folder per task (``textqa/``, ``mathqa/``, ``generation/``, ``captioning/``, ``vqa/``,
``text_recognition/``) holding ``<prefix>_<stage>.json`` (inputs), ``<prefix>_<stage>_answer.json``
(outputs) and ``images/``; image paths inside are relative to the task folder.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from .sample import IMAGE, TEXT, Item, SyntheticSample
from .tasks import TASK_BY_ID, TASKS

JPEG_QUALITY = 90
_OWNED_IMAGE = re.compile(r"^(gt_)?\d{5}(_\d+)?\.jpg$|^(train|val|test)_\d{6}(_\d+)?\.jpg$")


def _save_jpeg(img: Image.Image, path: Path) -> None:
    img.convert("RGB").save(path, "JPEG", quality=JPEG_QUALITY, optimize=False, progressive=False)


def _dump_json(obj: object, path: Path) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _clear_images(images_dir: Path) -> None:
    """Remove image files this module wrote before (its naming patterns only)."""
    if images_dir.is_dir():
        for p in images_dir.iterdir():
            if p.is_file() and _OWNED_IMAGE.match(p.name):
                p.unlink()
    images_dir.mkdir(parents=True, exist_ok=True)


def _input_items(sample: SyntheticSample, root: Path, stem: str) -> list[dict]:
    """JSON items of ``sample``; its images are saved under ``root/images/<stem>[_k].jpg``."""
    out, k = [], 0
    for item in sample.items:
        if item.type == TEXT:
            out.append({"type": TEXT, "content": item.content})
        else:
            rel = f"images/{stem}.jpg" if k == 0 else f"images/{stem}_{k}.jpg"
            _save_jpeg(item.content, root / rel)
            out.append({"type": IMAGE, "content": rel})
            k += 1
    return out


def _answer_items(sample: SyntheticSample, root: Path, gt_rel: str) -> list[dict]:
    if sample.gold_image is not None:
        _save_jpeg(sample.gold_image, root / gt_rel)
        return [{"type": IMAGE, "content": gt_rel}]
    if not sample.answers:
        raise ValueError(f"{sample.task} sample has neither answers nor a gold image")
    return [{"type": TEXT, "content": list(sample.answers)}]


def write_test_set(samples: list[SyntheticSample], out_dir: str | Path, shuffle_seed: int = 0) -> dict[str, int]:
    """Write ``samples`` as an FBC2 test set; tasks are shuffled together by ``shuffle_seed``.
    Returns the id -> task id mapping (the content of sample_ids.json)."""
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    _clear_images(root / "images")
    order = list(range(len(samples)))
    random.Random(f"fbc2-order:{shuffle_seed}").shuffle(order)
    inputs, truth, ids = {}, {}, {}
    for new_id, idx in enumerate(order):
        sample, key = samples[idx], str(new_id)
        inputs[key] = _input_items(sample, root, f"{new_id:05d}")
        truth[key] = _answer_items(sample, root, f"images/gt_{new_id:05d}.jpg")
        ids[key] = sample.task_id
    _dump_json(inputs, root / "input.json")
    _dump_json(truth, root / "ground_truth.json")
    _dump_json(ids, root / "sample_ids.json")
    return ids


def write_training_folders(samples: Iterable[SyntheticSample], out_dir: str | Path, stage: str = "train") -> list[Path]:
    """Write ``samples`` (any iterable: images are saved as they come, so a generator keeps memory
    flat) into per-task training folders for ``stage`` ("train" or "val"). Returns the task
    folders written, in registry order."""
    root = Path(out_dir)
    inputs: dict[str, dict] = {}
    answers: dict[str, dict] = {}
    for sample in samples:
        spec = TASKS[sample.task]
        folder = root / spec.folder
        if spec.name not in inputs:
            (folder / "images").mkdir(parents=True, exist_ok=True)
            for old in (folder / "images").glob(f"{stage}_*.jpg"):
                old.unlink()
            inputs[spec.name], answers[spec.name] = {}, {}
        i = len(inputs[spec.name])
        stem = f"{stage}_{i:06d}"
        inputs[spec.name][str(i)] = _input_items(sample, folder, stem)
        answers[spec.name][str(i)] = _answer_items(sample, folder, f"images/{stem}.jpg")
    written = []
    for spec in TASKS.values():
        if spec.name in inputs:
            folder = root / spec.folder
            _dump_json(inputs[spec.name], folder / f"{spec.file_prefix}_{stage}.json")
            _dump_json(answers[spec.name], folder / f"{spec.file_prefix}_{stage}_answer.json")
            written.append(folder)
    return written


def _load_image(path: Path) -> Image.Image:
    with Image.open(path) as img:
        return img.convert("RGB")


def _as_list(items: object) -> list[dict]:
    """Ground-truth values may be one item object instead of a one-item list: accept both."""
    return [items] if isinstance(items, dict) else list(items)


def _read_sample(task: str, task_id: int, inp: list[dict], ans: list[dict] | None, folder: Path,
                 meta: dict) -> SyntheticSample:
    items = [Item(TEXT, it["content"]) if it["type"] == TEXT else Item(IMAGE, _load_image(folder / it["content"]))
             for it in inp]
    answers, gold = None, None
    for it in _as_list(ans or []):
        if it["type"] == TEXT and answers is None:
            answers = [it["content"]] if isinstance(it["content"], str) else list(it["content"])
        elif it["type"] == IMAGE and gold is None:
            gold = _load_image(folder / it["content"])
    return SyntheticSample(task, task_id, items, answers=answers, gold_image=gold, meta=meta)


def read_training_folders(in_dir: str | Path, stage: str = "train") -> list[SyntheticSample]:
    """Read back per-task training folders (ours or the organisers'), in registry task order."""
    root = Path(in_dir)
    samples = []
    for spec in TASKS.values():
        folder = root / spec.folder
        inp_path = folder / f"{spec.file_prefix}_{stage}.json"
        ans_path = folder / f"{spec.file_prefix}_{stage}_answer.json"
        if not inp_path.is_file():
            continue
        inputs = json.loads(inp_path.read_text(encoding="utf-8"))
        answers = json.loads(ans_path.read_text(encoding="utf-8"))
        for key, inp in inputs.items():
            samples.append(_read_sample(spec.name, spec.task_id, inp, answers.get(key), folder,
                                        {"id": key, "source": str(inp_path)}))
    return samples


def read_test_set(in_dir: str | Path) -> dict[str, SyntheticSample]:
    """Read a test set folder; the task comes from sample_ids.json when present (else "", -1)."""
    root = Path(in_dir)
    inputs = json.loads((root / "input.json").read_text(encoding="utf-8"))
    gt_path, ids_path = root / "ground_truth.json", root / "sample_ids.json"
    truth = json.loads(gt_path.read_text(encoding="utf-8")) if gt_path.is_file() else {}
    ids = json.loads(ids_path.read_text(encoding="utf-8")) if ids_path.is_file() else {}
    out = {}
    for key, inp in inputs.items():
        task_id = ids.get(key, -1)
        task = TASK_BY_ID[task_id].name if task_id in TASK_BY_ID else ""
        out[key] = _read_sample(task, task_id, inp, truth.get(key), root, {"id": key})
    return out
