"""scripts/make_submission.py: reproducible, minimal, size-checked ZIPs."""

import json
import os
import zipfile
from pathlib import Path

import pytest
from helpers.scripts import load_script

make_submission = load_script("make_submission")

ROOT = Path(__file__).resolve().parents[2]


def build(weights: Path, out: Path, *extra: str) -> int:
    return make_submission.main(["--weights", str(weights), "--out", str(out), *extra])


def test_two_builds_are_byte_identical(tiny_weights, tmp_path):
    assert build(tiny_weights, tmp_path / "a.zip") == 0
    # Times and permissions on disk must not leak into the archive.
    probe = tiny_weights / "config.json"
    old = probe.stat()
    os.utime(probe, (old.st_atime + 12345, old.st_mtime + 12345))
    os.chmod(probe, 0o600)
    try:
        assert build(tiny_weights, tmp_path / "b.zip") == 0
    finally:
        os.chmod(probe, old.st_mode & 0o777)
        os.utime(probe, (old.st_atime, old.st_mtime))
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def expected_code_files() -> set[str]:
    names = {"run.py"}
    for path in [*(ROOT / "solution").rglob("*"), *(ROOT / "fbc2_io").rglob("*")]:
        rel = path.relative_to(ROOT).as_posix()
        if path.is_file() and "__pycache__" not in rel and not rel.endswith(".pyc") and "/." not in rel:
            names.add(rel)
    return names


def test_archive_holds_exactly_what_the_entrypoint_needs(tiny_weights, tmp_path):
    out = tmp_path / "s.zip"
    assert build(tiny_weights, out) == 0
    with zipfile.ZipFile(out) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        meta = json.loads(zf.read("metadata.json"))
        weights = {n: zf.read(n) for n in names if n.startswith("weights/")}
        run_py = zf.read("run.py")
    assert names == sorted(names)
    assert "metadata.json" in names  # at the archive root
    assert meta == json.loads((ROOT / "metadata.json").read_text(encoding="utf-8"))
    assert meta["entrypoint"] == "python3 run.py"
    assert run_py == (ROOT / "run.py").read_bytes()
    # run.py reads weights/demo when no --weights is given: the archive holds the directory there.
    assert weights == {f"weights/demo/{p.name}": p.read_bytes() for p in tiny_weights.iterdir()}
    assert set(names) == {"metadata.json"} | expected_code_files() | set(weights)
    assert "solution/pipeline.py" in names and "solution/rudolph/model.py" in names and "fbc2_io/images.py" in names
    for banned in ("tests/", "evaluator/", "sample_input/", "scripts/", ".venv/", "training/",
                   "synthetic_fbc2/", "fbc2_tasks.py"):
        assert not any(n.startswith(banned) for n in names), banned
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    for info in infos:
        assert info.date_time == make_submission.FIXED_TIME
        assert (info.external_attr >> 16) & 0o777 == 0o644


def test_image_option_names_the_image_in_the_archive(tiny_weights, tmp_path):
    out = tmp_path / "s.zip"
    assert build(tiny_weights, out, "--image", "registry.example.org/team/fbc2:7") == 0
    with zipfile.ZipFile(out) as zf:
        meta = json.loads(zf.read("metadata.json"))
    assert meta == {"image": "registry.example.org/team/fbc2:7", "entrypoint": "python3 run.py"}


def test_size_limit_gives_a_clear_error_and_no_archive(tiny_weights, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(make_submission, "LIMIT_BYTES", 1_000_000)
    out = tmp_path / "s.zip"
    assert build(tiny_weights, out) == 1
    err = capsys.readouterr().err
    assert "would unpack to" in err and "over the platform's limit of 1.0 MB (1000000 bytes)" in err
    assert "weights/demo/vqgan.safetensors" in err  # the largest file is named
    assert not out.exists() and not list(tmp_path.glob(".s.zip.*"))


def test_packed_limit_is_checked_after_writing(tiny_weights, tmp_path, monkeypatch, capsys):
    # Random bytes do not compress: 100 000 of them unpack within the limit but pack (with the ZIP
    # headers) above it.
    monkeypatch.setattr(make_submission, "LIMIT_BYTES", 100_010)
    monkeypatch.setattr(make_submission, "collect_files", lambda root, weights: {})
    monkeypatch.setattr(make_submission, "read_metadata", lambda path, image: os.urandom(100_000))
    out = tmp_path / "s.zip"
    assert build(tiny_weights, out) == 1
    assert "packed, over the platform's limit" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".s.zip.*"))


@pytest.mark.parametrize("missing, reason", [(None, "weights directory not found"), ("bpe.model", "bpe.model")])
def test_unusable_weights_are_refused(tiny_weights, tmp_path, capsys, missing, reason):
    if missing is None:
        weights = tmp_path / "nowhere"
    else:
        weights = tmp_path / "partial"
        weights.mkdir()
        for p in tiny_weights.iterdir():
            if p.name != missing:
                (weights / p.name).write_bytes(p.read_bytes())
    assert build(weights, tmp_path / "s.zip") == 1
    assert reason in capsys.readouterr().err
    assert not (tmp_path / "s.zip").exists()


@pytest.mark.parametrize("content, reason", [
    (None, "not found"),
    (b"\xff\xfe{}", "is not UTF-8"),
    (b'{"image": ', "is not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"image": ' + b"9" * 5000 + b"}", "is not usable JSON"),
    (b'["image", "entrypoint"]', "must hold a JSON object, found list"),
    (b'{"image": "x", "entrypoint": 5}', "'entrypoint' must be a non-empty string"),
])
def test_broken_metadata_is_one_line(tiny_weights, tmp_path, content, reason):
    root = tmp_path / "root"
    root.mkdir()
    if content is not None:
        (root / "metadata.json").write_bytes(content)
    with pytest.raises(make_submission.SubmissionError, match=reason):
        make_submission.build(tiny_weights, tmp_path / "s.zip", root=root)
    assert not (tmp_path / "s.zip").exists()


def test_bad_out_and_weights_paths_are_one_line(tiny_weights, tmp_path, capsys):
    (tmp_path / "folder.zip").mkdir()
    assert build(tiny_weights, tmp_path / "folder.zip") == 1
    assert "is a folder; name the ZIP file to write" in capsys.readouterr().err
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    assert build(tiny_weights, tmp_path / "afile" / "s.zip") == 1
    assert "afile is a file, not a folder" in capsys.readouterr().err
    assert build(tmp_path / "afile", tmp_path / "s.zip") == 1
    assert "is a file; pass the weights folder" in capsys.readouterr().err


def test_a_missing_weights_folder_never_suggests_random_weights_in_the_submission(tmp_path, capsys):
    assert build(tmp_path / "nowhere", tmp_path / "s.zip") == 1
    err = capsys.readouterr().err
    assert "weights directory not found" in err and "train_demo.sh" in err
    assert "init_weights" not in err and "random" not in err


def test_without_image_it_says_the_tag_is_local(tiny_weights, tmp_path, capsys):
    assert build(tiny_weights, tmp_path / "s.zip") == 0
    out = capsys.readouterr().out
    assert "'fbc2-rudolph:0.1.0' from metadata.json, a local tag" in out and "--image REGISTRY/NAME:TAG" in out
    assert build(tiny_weights, tmp_path / "t.zip", "--image", "registry.example.org/team/fbc2:7") == 0
    assert "local tag" not in capsys.readouterr().out
