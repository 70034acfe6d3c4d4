"""run.py never crashes on odd samples: a warning and a best-effort answer for each."""

import json
import os
import subprocess
import sys

import pytest
from helpers.run_entry import ROOT, read_predictions, write_input
from PIL import Image

from solution.fbc2_input import read_input, resolve_image_path


def draw_images(folder):
    images = folder / "images"
    images.mkdir(parents=True)
    Image.new("RGB", (40, 30), (200, 10, 10)).save(images / "rgb.jpg")
    Image.new("RGBA", (32, 32), (0, 0, 255, 90)).save(images / "rgba.png")
    Image.new("L", (20, 20), 128).save(images / "grey.png")
    Image.new("CMYK", (24, 24), (0, 255, 0, 0)).save(images / "cmyk.jpg")
    Image.new("RGB", (1, 1), (1, 2, 3)).save(images / "dot.png")
    Image.new("RGB", (1000, 3), (9, 9, 9)).save(images / "strip.png")
    (images / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg at all")
    (images / "empty.jpg").write_bytes(b"")
    outside = folder.parent / "outside.png"
    Image.new("RGB", (8, 8)).save(outside)
    os.symlink(outside, images / "link.png")


SAMPLES = {
    "rgb": [{"type": "text", "content": "Что изображено на картинке?"}, {"type": "image", "content": "images/rgb.jpg"}],
    "rgba": [{"type": "image", "content": "images/rgba.png"}],
    "grey": [{"type": "image", "content": "images/grey.png"}],
    "cmyk": [{"type": "image", "content": "images/cmyk.jpg"}],
    "dot": [{"type": "image", "content": "images/dot.png"}],
    "strip": [{"type": "image", "content": "images/strip.png"}],
    "corrupt": [{"type": "text", "content": "Распознай текст."}, {"type": "image", "content": "images/corrupt.jpg"}],
    "empty_image": [{"type": "image", "content": "images/empty.jpg"}],
    "missing": [{"type": "image", "content": "images/nope.jpg"}],
    "absolute": [{"type": "image", "content": "/etc/hostname"}],
    "dotdot": [{"type": "image", "content": "../outside.png"}],
    "symlink_out": [{"type": "image", "content": "images/link.png"}],
    "several": [{"type": "image", "content": "images/rgb.jpg"}, {"type": "image", "content": "images/grey.png"}],
    "unknown_type": [{"type": "audio", "content": "x.wav"}, {"type": "text", "content": "Привет"}],
    "int_text": [{"type": "text", "content": 42}],
    "list_text": [{"type": "text", "content": ["вопрос", "ответ"]}],
    "dict_text": [{"type": "text", "content": {"a": 1}}],
    "no_type": [{"content": "x"}, "just a string"],
    "empty": [],
    "single_item": {"type": "text", "content": "Сгенерируй изображение: красный круг."},
    "not_a_list": 17,
    "huge": [{"type": "text", "content": "очень длинный текст " * 5000 + "Вопрос: какой цвет?"}],
    "null_image": [{"type": "image", "content": None}],
}


@pytest.fixture(scope="module")
def odd_input(tmp_path_factory):
    folder = tmp_path_factory.mktemp("odd") / "input"
    folder.mkdir()
    draw_images(folder)
    return write_input(folder, SAMPLES)


def test_parser_warns_for_each_kind(odd_input):
    parsed = {s.id: s for s in read_input(odd_input, load_images=True).samples}
    expectations = {
        "corrupt": "unreadable image", "empty_image": "unreadable image", "missing": "missing image",
        "absolute": "refused image path", "dotdot": "refused image path", "symlink_out": "refused image path",
        "several": "several images", "unknown_type": "unknown item type", "int_text": "non-string text",
        "list_text": "non-string text", "dict_text": "non-string text", "no_type": "bad item", "empty": "empty sample",
        "not_a_list": "bad sample", "huge": "huge text", "dot": "odd image", "strip": "odd image",
        "null_image": "bad image item",
    }
    for sample_id, kind in expectations.items():
        assert any(w.startswith(kind) for w in parsed[sample_id].warnings), (sample_id, parsed[sample_id].warnings)
    for sample_id in ("rgb", "rgba", "grey", "cmyk"):
        assert parsed[sample_id].warnings == [] and parsed[sample_id].image.mode == "RGB"
    assert parsed["several"].image.size == (20, 20)  # the last image
    assert parsed["list_text"].text == "вопрос ответ" and parsed["int_text"].text == "42"
    assert parsed["single_item"].text.startswith("Сгенерируй")
    assert len(parsed["huge"].text) <= 20_001


def test_run_answers_every_odd_sample(odd_input, tiny_weights, run_module, tmp_path, capsys):
    out = tmp_path / "out"
    code = run_module.main(["--input", str(odd_input), "--output", str(out), "--weights", str(tiny_weights),
                            "--no-progress", "--no-eco2ai"])
    assert code == 0
    predictions = read_predictions(out)
    assert list(predictions) == list(SAMPLES)
    for sample_id, items in predictions.items():
        assert items[0]["type"] == "text" and isinstance(items[0]["content"], str), sample_id
    # Samples whose image could not be used are text-only: they get a generated image.
    for sample_id in ("corrupt", "missing", "absolute", "dotdot", "symlink_out", "empty", "huge"):
        images = [it["content"] for it in predictions[sample_id] if it["type"] == "image"]
        assert len(images) == 1 and (out / images[0]).is_file(), sample_id
    for sample_id in ("rgb", "rgba", "grey", "cmyk", "dot", "strip", "several"):
        assert [it["type"] for it in predictions[sample_id]] == ["text"], sample_id
    err = capsys.readouterr().err
    assert "warnings:" in err and "refused image path x3" in err and "unreadable image x2" in err


def test_resolve_image_path_refusals(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    assert resolve_image_path(tmp_path, "a.jpg") == ((tmp_path / "a.jpg").resolve(), None)
    for bad in ("/abs/a.jpg", "../a.jpg", "images/../../a.jpg"):
        path, reason = resolve_image_path(tmp_path, bad)
        assert path is None and reason.startswith("refused image path")
    assert resolve_image_path(tmp_path, 5)[1].startswith("bad image item")


@pytest.mark.parametrize("content,message", [
    ('{"0": [ {"type": "text", "content": "x"} ', "not valid JSON (line 1, column"),
    ('[1, 2]', "expected a JSON object"),
    (b'\xff\xfe\x00garbage', "not UTF-8"),
    ("[" * 3000 + "]" * 3000, "nested too deeply"),
    ('{"a": [{"type": "text", "content": ' + "9" * 5000 + "}]}", "not usable JSON"),
])
def test_malformed_input_json_is_one_clear_line(tmp_path, tiny_weights, content, message):
    path = tmp_path / "input.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "--input", str(path), "--output", str(tmp_path / "o"),
                             "--weights", str(tiny_weights), "--no-eco2ai"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert message in result.stderr and str(path) in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_input_and_weights(tmp_path, tiny_weights, run_module, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_module.main(["--input", str(tmp_path / "none.json"), "--weights", str(tiny_weights)])
    assert exit_info.value.code == 2 and "not found" in capsys.readouterr().err
    path = write_input(tmp_path / "in", {"0": [{"type": "text", "content": "x"}]})
    empty = tmp_path / "empty_weights"
    empty.mkdir()
    with pytest.raises(SystemExit):
        run_module.main(["--input", str(path), "--weights", str(empty), "--output", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert "is missing" in err and "bpe.model" in err and "config.json" in err and "VQGAN" in err


def test_existing_run_needs_resume_or_overwrite(tmp_path, tiny_weights, run_module, capsys):
    path = write_input(tmp_path / "in", {"0": [{"type": "text", "content": "a) да; b) нет"}]})
    args = ["--input", str(path), "--output", str(tmp_path / "o"), "--weights", str(tiny_weights), "--no-progress",
            "--no-eco2ai", "--no-images"]
    assert run_module.main(args) == 0
    with pytest.raises(SystemExit):
        run_module.main(args)
    assert "--resume" in capsys.readouterr().err
    assert run_module.main([*args, "--overwrite"]) == 0
    assert json.loads((tmp_path / "o" / "predictions.json").read_text())["0"][0]["content"] in ("a) да", "b) нет")
