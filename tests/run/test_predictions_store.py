"""The prediction store: UTF-8 output, image names that never collide, room kept for the answers on a
disk that fills up (a stand-in writer plays the disk: ENOSPC once the folder would exceed its size)."""

import errno
import json
import os

import pytest
from helpers.run_entry import write_input

from fbc2_io.errors import UnusableFile
from fbc2_io.files import atomic_write_bytes
from solution.fbc2_input import read_input
from solution.predictions import RESERVE, PredictionStore, image_file_name, json_bytes, reserve_bytes


class SmallDisk:
    """A writer for the store: ``atomic_write_bytes``, unless the folder's files plus the new data
    (the temporary file exists beside the old one until the rename) exceed ``capacity`` bytes: then
    the UnusableFile the real writer raises for ENOSPC (the OSError as its context)."""

    def __init__(self, folder, capacity=None):
        self.folder, self.capacity = folder, capacity
        self.images_tried = 0

    def usage(self) -> int:
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(self.folder) for f in files)

    def __call__(self, path, data, *, root=None):
        if "images" in str(path):
            self.images_tried += 1
        if self.capacity is not None and self.usage() + len(data) > self.capacity:
            try:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
            except OSError as e:
                raise UnusableFile("file", path, f"cannot be written ({e.strerror})", errno=e.errno) from e
        atomic_write_bytes(path, data, root=root)


def test_predictions_are_utf8_unless_a_lone_surrogate_needs_escapes(tmp_path):
    store = PredictionStore(tmp_path / "a", ["кот", "b"])
    store.set_text("кот", "ответ: «да»")
    store.finish()
    raw = (tmp_path / "a" / "predictions.json").read_bytes()
    assert "ответ: «да»".encode() in raw and b"\\u" not in raw
    assert json.loads(raw) == {"кот": [{"type": "text", "content": "ответ: «да»"}], "b": [{"type": "text", "content": ""}]}
    store = PredictionStore(tmp_path / "s", ["\ud800", "кот"])
    store.set_text("кот", "ответ")
    store.finish()
    raw = (tmp_path / "s" / "predictions.json").read_bytes()
    assert raw.isascii() and b"\\ud800" in raw and b"\\u043e" in raw
    assert list(json.loads(raw)) == ["\ud800", "кот"]
    assert json_bytes({"k": "\udfff"}).isascii() and json.loads(json_bytes({"k": "\udfff"})) == {"k": "\udfff"}


def test_image_names_never_collide(tmp_path):
    hashed = image_file_name("a/b")
    stem = hashed.removeprefix("image_").removesuffix(".jpg")
    assert len(stem) == 64
    ids = ["a/b", stem, "A", "a", "0", "кот", "\ud800", ".x", stem.upper()]
    names = [image_file_name(i) for i in ids]
    assert len({n.lower() for n in names}) == len(ids)  # distinct even on a case-insensitive file system
    assert image_file_name("0") == "image_0.jpg" and image_file_name("a") == "image_a.jpg"
    store = PredictionStore(tmp_path / "out", ids)
    for k, sample_id in enumerate(ids):
        store.write_image(sample_id, bytes([k]) * 10)
    store.finish()
    for k, sample_id in enumerate(ids):  # each id's image is its own file
        assert (tmp_path / "out" / store.images[sample_id]).read_bytes() == bytes([k]) * 10


def test_a_full_disk_stops_the_images_and_keeps_every_answer(tmp_path, tiny_weights):
    from solution.budget import Budget
    from solution.pipeline import Pipeline, RunSettings
    from solution.weights import load_weights

    samples = {f"t{i}": [{"type": "text", "content": f"Нарисуй {i} кота"}] for i in range(6)}
    parsed = read_input(write_input(tmp_path / "in", samples)).samples
    out = tmp_path / "out"
    disk = SmallDisk(out)
    store = PredictionStore(out, list(samples), writer=disk)
    store.save()
    (out / "images").mkdir()
    (out / "images" / "image_old.jpg").write_bytes(b"x" * 100)  # an unreferenced file of an earlier run
    real = store.write_image

    def first_image_sets_the_size(sample_id, data):
        if disk.capacity is None:  # room for the reserve, this image and one more: the third fails
            disk.capacity = disk.usage() + int(2.5 * len(data))
        real(sample_id, data)

    store.write_image = first_image_sets_the_size
    pipeline = Pipeline(load_weights(tiny_weights), store, Budget(seconds=600), RunSettings(progress=False, batch_size=2))
    assert store.reserve_space()  # what the image phase does first (again: no second file)
    pipeline.run(parsed)
    store.finish()
    assert store.disk_full and "image" in pipeline.stopped
    assert disk.images_tried == 3  # the third image failed; the batch after it never ran
    predictions = json.loads((out / "predictions.json").read_bytes())
    assert store.done["answer"] == set(samples)  # every answer made it to disk
    assert {sample_id: items[0]["content"] for sample_id, items in predictions.items()} == store.texts
    referenced = {items[1]["content"] for items in predictions.values() if len(items) > 1}
    assert len(referenced) == 2 and {f"images/{p.name}" for p in (out / "images").iterdir()} == referenced
    assert not (out / RESERVE).exists()
    assert (store.on_disk.answers, store.on_disk.images) == (6, 2)


def test_the_final_write_gives_up_the_newest_images_when_nothing_else_makes_room(tmp_path):
    out = tmp_path / "out"
    disk = SmallDisk(out)
    ids = [f"s{i}" for i in range(4)]
    store = PredictionStore(out, ids, writer=disk)
    store.save()
    for sample_id in ids:
        store.write_image(sample_id, b"i" * 10_000)
    (out / "images" / ".image_s9.jpg.tmp").write_bytes(b"p" * 5_000)  # a partial write
    for sample_id in ids:
        store.set_text(sample_id, "ответ " * 700)  # 8.4 KB each in UTF-8
    disk.capacity = disk.usage()  # full: the new file does not fit
    store.finish()  # partial file removed (5 KB), 1 image dropped (15 KB), then 2 more (35 KB): fits
    predictions = json.loads((out / "predictions.json").read_bytes())
    assert all(items[0]["content"].startswith("ответ") for items in predictions.values())
    assert [sample_id for sample_id, items in predictions.items() if len(items) == 2] == ["s0"]  # the oldest stays
    assert sorted(p.name for p in (out / "images").iterdir()) == ["image_s0.jpg"]
    assert store.dropped_images == 3 and (store.on_disk.answers, store.on_disk.images) == (4, 1)


def test_no_room_even_for_the_reserve_means_no_images_and_other_write_errors_are_not_hidden(tmp_path):
    out = tmp_path / "out"
    disk = SmallDisk(out)
    store = PredictionStore(out, ["a"], writer=disk)
    store.save()
    disk.capacity = disk.usage() + reserve_bytes(["a"]) // 2
    assert not store.reserve_space() and store.disk_full

    def denied(path, data, *, root=None):
        raise UnusableFile("file", path, "cannot be written (Permission denied)")

    with pytest.raises(UnusableFile, match="Permission denied"):
        PredictionStore(tmp_path / "ro", ["a"], writer=denied).finish()
