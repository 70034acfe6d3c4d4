"""scripts/check_submission.py: the platform emulated, a verdict on the output contract."""

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import check_submission
import make_submission
import pytest

META = json.dumps({"image": "fbc2-rudolph:test", "entrypoint": "python3 run.py"})

# A fake entrypoint: answers every id of ../input/input.json with a text item, after MUTATION has
# had its chance to break something; `raw`, when set, is written instead of the JSON of `preds`.
FAKE_RUN = """
import json, os
ids = list(json.load(open("../input/input.json", encoding="utf-8")))
os.makedirs("output/images", exist_ok=True)
preds = {i: [{"type": "text", "content": "a"}] for i in ids}
raw = None
MUTATION
with open("output/predictions.json", "w", encoding="utf-8") as f:
    f.write(raw if raw is not None else json.dumps(preds))
"""


def can_cut_network() -> bool:
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


def check(zip_path: Path, input_dir: Path, *extra: str) -> int:
    return check_submission.main([str(zip_path), "--input", str(input_dir), *extra])


def fake(make_zip, mutation: str = "", **files) -> Path:
    return make_zip({"metadata.json": META, "run.py": FAKE_RUN.replace("MUTATION", mutation), **files})


def test_real_submission_passes_with_the_network_cut(tiny_weights, small_input, tmp_path, capfd):
    archive = tmp_path / "submission.zip"
    assert make_submission.main(["--weights", str(tiny_weights), "--out", str(archive)]) == 0
    assert check(archive, small_input, "--timeout", "300") == 0
    out = capfd.readouterr().out
    assert "check_submission: PASS" in out
    assert "6 input ids, 6 text and 3 image items" in out  # the 3 text-only samples got images
    if can_cut_network():
        assert "network cut by `unshare -n`" in out


def test_entrypoint_sees_no_network(make_zip, small_input, capfd):
    if not can_cut_network():
        pytest.skip("unshare -n is not permitted here")
    if not [name for _, name in socket.if_nameindex() if name != "lo"]:
        pytest.skip("this machine has no network interface besides lo")
    probe = "import socket; assert [n for _, n in socket.if_nameindex()] == ['lo'], socket.if_nameindex()"
    assert check(fake(make_zip, probe), small_input) == 0
    assert "PASS" in capfd.readouterr().out


def test_crashing_entrypoint_fails(make_zip, small_input, capfd):
    archive = fake(make_zip, "raise RuntimeError('boom')")
    assert check(archive, small_input) == 1
    captured = capfd.readouterr()
    assert "check_submission: FAIL" in captured.out
    assert "the entrypoint exited with code 1" in captured.out
    assert "no output/predictions.json" in captured.out
    assert "RuntimeError: boom" in captured.err  # the entrypoint's own output is shown


def test_incomplete_predictions_fail_naming_the_missing_ids(make_zip, small_input, capfd):
    archive = fake(make_zip, "for i in ids[2:]: del preds[i]")
    assert check(archive, small_input) == 1
    out = capfd.readouterr().out
    ids = list(json.loads((small_input / "input.json").read_text(encoding="utf-8")))
    assert "FAIL" in out and f"input id missing from predictions.json ({len(ids) - 2})" in out
    assert repr(ids[-1]) in out and f"{ids[0]!r}," not in out


def test_valid_fake_output_with_an_image_passes(make_zip, small_input, capfd):
    mutation = ("from PIL import Image; Image.new('RGB', (8, 8)).save('output/images/x.jpg'); "
                "preds[ids[0]].append({'type': 'image', 'content': 'images/x.jpg'})")
    assert check(fake(make_zip, mutation), small_input) == 0
    assert "6 text and 1 image items" in capfd.readouterr().out


@pytest.mark.parametrize("mutation, reason", [
    ("raw = '{\"0\": ['", "predictions.json is not valid JSON (Expecting value at line 1, column 8)"),
    ("raw = '[]'", "holds a JSON list, not an object"),
    ("preds[ids[0]] = []", "value that is not a non-empty list of items"),
    ("preds[ids[0]] = {'type': 'text', 'content': 'a'}", "value that is not a non-empty list of items"),
    ("preds[ids[0]] = [{'type': 'video', 'content': 'a'}]", 'item that is not {"type": "text"|"image", ...}'),
    ("preds[ids[0]] = [{'type': 'text', 'content': ['a']}]", "item whose content is not a string"),
    ("preds[ids[0]].append({'type': 'image', 'content': '../input/images/x.jpg'})", "leaves output/"),
    ("preds[ids[0]].append({'type': 'image', 'content': '/etc/hostname'})", "absolute"),
    ("preds[ids[0]].append({'type': 'image', 'content': 'images/none.jpg'})", "image file missing"),
    ("open('output/images/bad.jpg', 'wb').write(b'not a jpeg'); "
     "preds[ids[0]].append({'type': 'image', 'content': 'images/bad.jpg'})", "image Pillow cannot read"),
    ("os.symlink('/etc/hostname', 'output/images/link.jpg'); "
     "preds[ids[0]].append({'type': 'image', 'content': 'images/link.jpg'})", "leaves output/ through a link"),
])
def test_contract_violations_fail_with_the_reason(make_zip, small_input, capfd, mutation, reason):
    assert check(fake(make_zip, mutation), small_input) == 1
    out = capfd.readouterr().out
    assert "check_submission: FAIL" in out and reason in out


def test_timeout_fails(make_zip, small_input, capfd):
    archive = fake(make_zip, "import time; time.sleep(60)")
    assert check(archive, small_input, "--timeout", "2") == 1
    assert "ran past the timeout of 2 s and was killed" in capfd.readouterr().out


def test_module_missing_from_the_archive_fails(make_zip, small_input, capfd):
    # The lazy import never runs, and an installed copy of a package could hide it anyway.
    archive = fake(make_zip, "if False: from mypkg.helper import go", **{"mypkg/__init__.py": ""})
    assert check(archive, small_input) == 1
    assert "import of a module missing from the archive (1): run.py:7 mypkg.helper" in capfd.readouterr().out


@pytest.mark.parametrize("files, reason", [
    ({"run.py": "print(1)"}, "no metadata.json at the archive root"),
    ({"metadata.json": "{'image': 1}", "run.py": ""}, "metadata.json is not valid JSON"),
    ({"metadata.json": json.dumps({"image": "x"}), "run.py": ""}, "'entrypoint' must be a non-empty string"),
    ({"metadata.json": META, "../escape.py": ""}, "unsafe path in the archive (1): ../escape.py"),
])
def test_bad_archives_fail_without_running(make_zip, small_input, capfd, files, reason):
    assert check(make_zip(files), small_input) == 1
    out = capfd.readouterr().out
    assert reason in out and "entrypoint exit" not in out


def test_archive_over_the_limit_fails(make_zip, small_input, capfd, monkeypatch):
    monkeypatch.setattr(make_submission, "LIMIT_BYTES", 100)
    assert check(fake(make_zip), small_input) == 1
    assert "over the 0.0 MB limit" in capfd.readouterr().out


def test_not_a_zip_fails(tmp_path, small_input, capfd):
    bogus = tmp_path / "s.zip"
    bogus.write_bytes(b"hello")
    assert check(bogus, small_input) == 1
    assert "is not a ZIP archive" in capfd.readouterr().out


def test_keep_leaves_the_platform_layout(make_zip, small_input, capfd):
    assert check(fake(make_zip), small_input, "--keep") == 0
    kept = Path(capfd.readouterr().out.split("kept ")[1].split()[0])
    try:
        assert (kept / "solution" / "metadata.json").is_file()
        assert (kept / "solution" / "output" / "predictions.json").is_file()
        assert (kept / "input" / "input.json").read_bytes() == (small_input / "input.json").read_bytes()
    finally:
        shutil.rmtree(kept)


def test_without_unshare_it_warns_and_runs_with_network(monkeypatch, capsys):
    monkeypatch.setattr(check_submission.shutil, "which", lambda name: None)
    assert check_submission.network_cut() == []
    assert "WARNING: cannot cut the network" in capsys.readouterr().err


def test_entrypoint_python_is_the_callers(make_zip, small_input, capfd):
    probe = f"import sys; assert sys.prefix == {sys.prefix!r}, sys.prefix"
    assert check(fake(make_zip, probe), small_input) == 0
    assert "PASS" in capfd.readouterr().out


def test_installed_package_cannot_hide_a_missing_file(make_zip, small_input, capfd):
    # solution/budget.py is left out of the archive; the editable install of this checkout would
    # still import it from the repository, so only the static check can tell.
    run_py = "from solution.budget import Budget\n" + FAKE_RUN.replace("MUTATION", "")
    archive = make_zip({"metadata.json": META, "run.py": run_py, "solution/__init__.py": ""})
    assert check(archive, small_input) == 1
    assert "import of a module missing from the archive (1): run.py:1 solution.budget" in capfd.readouterr().out
