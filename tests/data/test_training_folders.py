from __future__ import annotations

import json

import numpy as np

from synthetic_fbc2 import TASKS, generate_split, iter_split, read_training_folders, write_training_folders


def test_training_folders_round_trip(tmp_path):
    samples = generate_split("train", 3)
    folders = write_training_folders(iter_split("train", 3), tmp_path, stage="train")  # streamed
    assert sorted(f.name for f in folders) == sorted(spec.folder for spec in TASKS.values())
    for spec in TASKS.values():
        folder = tmp_path / spec.folder
        inputs = json.loads((folder / f"{spec.file_prefix}_train.json").read_text(encoding="utf-8"))
        answers = json.loads((folder / f"{spec.file_prefix}_train_answer.json").read_text(encoding="utf-8"))
        assert list(inputs) == list(answers) == ["0", "1", "2"]
        for items in inputs.values():
            for it in items:
                if it["type"] == "image":
                    assert (folder / it["content"]).is_file()

    back = read_training_folders(tmp_path, stage="train")
    assert len(back) == len(samples)
    by_task = {spec.name: [s for s in samples if s.task == spec.name] for spec in TASKS.values()}
    originals = [s for spec in TASKS.values() for s in by_task[spec.name]]
    for orig, read in zip(originals, back, strict=True):
        assert (read.task, read.task_id) == (orig.task, orig.task_id)
        assert [it.type for it in read.items] == [it.type for it in orig.items]
        assert read.texts == orig.texts
        assert read.answers == orig.answers
        for a, b in zip(orig.images + [orig.gold_image] * (orig.gold_image is not None),
                        read.images + [read.gold_image] * (read.gold_image is not None), strict=True):
            diff = np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).mean()
            assert diff < 3.0  # JPEG, not pixel-exact


def test_train_and_val_stages_share_a_folder(tmp_path):
    write_training_folders(generate_split("train", 2), tmp_path, stage="train")
    write_training_folders(generate_split("heldout", 1), tmp_path, stage="val")
    assert len(read_training_folders(tmp_path, stage="train")) == 12
    assert len(read_training_folders(tmp_path, stage="val")) == 6


def test_reader_accepts_string_answers_and_single_item_objects(tmp_path):
    folder = tmp_path / "textqa"
    folder.mkdir()
    (folder / "text_small_train.json").write_text(json.dumps(
        {"0": [{"type": "text", "content": "Текст."}, {"type": "text", "content": "Вопрос?"}]}), encoding="utf-8")
    (folder / "text_small_train_answer.json").write_text(json.dumps(
        {"0": {"type": "text", "content": "ответ"}}), encoding="utf-8")
    (sample,) = read_training_folders(tmp_path)
    assert sample.task == "TextQA" and sample.answers == ["ответ"] and sample.texts == ["Текст.", "Вопрос?"]
