"""scripts/check_submission.py: the platform emulated, a verdict on the output contract."""

import json
import os
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers.scripts import load_script

check_submission = load_script("check_submission")
make_submission = load_script("make_submission")

META = json.dumps({"image": "fbc2-rudolph:test", "entrypoint": "python3 run.py --no-eco2ai"})
META_ECO2AI = json.dumps({"image": "fbc2-rudolph:test", "entrypoint": "python3 run.py"})
EMISSION_CSV = ("id,project_name,experiment_description,epoch,start_time,duration(s),power_consumption(kWh),"
                "CO2_emissions(kg),CPU_name,GPU_name,OS,region/country,cost\n"
                "x,p,d,N/A,2026-01-01 00:00:00,1.0,1e-06,3e-07,cpu,gpu,Linux,RU,0\n")

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
     "preds[ids[0]].append({'type': 'image', 'content': 'images/bad.jpg'})", "image the image loader cannot decode"),
    ("open('output/images/ps.jpg', 'wb').write(b'%!PS-Adobe-3.0 EPSF-3.0\\n%%BoundingBox: 0 0 8 8\\nshowpage\\n'); "
     "preds[ids[0]].append({'type': 'image', 'content': 'images/ps.jpg'})", "not an image in a known raster format"),
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


def test_entrypoint_python_sees_the_callers_packages_but_not_this_checkout(make_zip, small_input, capfd):
    """The platform's python has the image's packages (here: the caller's) and the archive, nothing else."""
    import PIL

    probe = ("import sys, importlib.util, PIL; "
             f"assert PIL.__file__ == {PIL.__file__!r}, PIL.__file__; "
             f"assert sys.prefix != {sys.prefix!r}; "
             "assert importlib.util.find_spec('solution') is None, importlib.util.find_spec('solution'); "
             "assert importlib.util.find_spec('fbc2_io') is None")
    assert check(fake(make_zip, probe), small_input) == 0
    assert "PASS" in capfd.readouterr().out


def test_a_zip_without_solution_fails_although_this_checkout_has_it(make_zip, small_input, capfd):
    """Issue 19 class 14a: the editable install of this checkout used to supply solution/."""
    archive = make_zip({"metadata.json": META, "run.py": "import solution.budget\n" + FAKE_RUN.replace("MUTATION", "")})
    assert check(archive, small_input) == 1
    captured = capfd.readouterr()
    assert "the entrypoint exited with code 1" in captured.out
    assert "No module named 'solution'" in captured.err


def test_a_shipped_output_is_refused_without_running(make_zip, small_input, capfd):
    """Issue 19 class 14b: entrypoint `true` and a shipped output/predictions.json used to pass."""
    ids = list(json.loads((small_input / "input.json").read_text(encoding="utf-8")))
    shipped = json.dumps({i: [{"type": "text", "content": "a"}] for i in ids})
    meta = json.dumps({"image": "x", "entrypoint": "true --no-eco2ai"})
    archive = make_zip({"metadata.json": meta, "output/predictions.json": shipped})
    assert check(archive, small_input) == 1
    out = capfd.readouterr().out
    assert "output/ shipped in the archive" in out and "output/predictions.json" in out


def test_duplicate_names_are_found_in_linear_time():
    """Issue 19 class 14c: 60,000 entries took 85 s (a names.count per name); each name is now compared
    a bounded number of times."""
    comparisons = 0

    class Name(str):
        def __eq__(self, other):
            nonlocal comparisons
            comparisons += 1
            return str.__eq__(self, other)

        __hash__ = str.__hash__

    names = [Name(f"solution/f{i}.py") for i in range(5000)] + [Name("run.py"), Name("run.py")]
    assert check_submission.duplicate_names(names) == ["run.py"]
    assert comparisons <= 2 * len(names)


def test_no_emission_csv_fails_when_eco2ai_is_on(make_zip, small_input, capfd):
    """Issue 20: the container lost emission.csv (no `top`) and the check passed."""
    archive = make_zip({"metadata.json": META_ECO2AI, "run.py": FAKE_RUN.replace("MUTATION", "")})
    assert check(archive, small_input) == 1
    out = capfd.readouterr().out
    assert "no output/emission.csv after the run (eco2AI is on in the entrypoint" in out
    assert "note: eco2AI runs `top` (" in out and "without it eco2AI fails at every measurement" in out


@pytest.mark.parametrize("content, reason", [
    (EMISSION_CSV, None),
    ("id,project_name\nx,p\n", "output/emission.csv has no CO2_emissions(kg) row"),
    (EMISSION_CSV.splitlines()[0] + "\n", "output/emission.csv has no CO2_emissions(kg) row"),
])
def test_emission_csv_is_checked_when_eco2ai_is_on(make_zip, small_input, capfd, content, reason):
    mutation = f"open('output/emission.csv', 'w').write({content!r})"
    archive = make_zip({"metadata.json": META_ECO2AI, "run.py": FAKE_RUN.replace("MUTATION", mutation)})
    assert check(archive, small_input) == (0 if reason is None else 1)
    out = capfd.readouterr().out
    assert ("PASS" in out) if reason is None else (reason in out)


def test_a_planted_link_as_emission_csv_fails(make_zip, small_input, capfd):
    mutation = "os.symlink('/etc/hostname', 'output/emission.csv')"
    archive = make_zip({"metadata.json": META_ECO2AI, "run.py": FAKE_RUN.replace("MUTATION", mutation)})
    assert check(archive, small_input) == 1
    assert "output/emission.csv: leaves its folder" in capfd.readouterr().out


def test_installed_package_cannot_hide_a_missing_file(make_zip, small_input, capfd):
    # solution/budget.py is left out of the archive; the editable install of this checkout would
    # still import it from the repository, so only the static check can tell.
    run_py = "from solution.budget import Budget\n" + FAKE_RUN.replace("MUTATION", "")
    archive = make_zip({"metadata.json": META, "run.py": run_py, "solution/__init__.py": ""})
    assert check(archive, small_input) == 1
    assert "import of a module missing from the archive (1): run.py:1 solution.budget" in capfd.readouterr().out


# -- broken archives, metadata and outputs: always FAIL with a reason, never a traceback ----------
def _corrupt_central_directory(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    at = data.rfind(b"PK\x01\x02")
    data[at:at + 4] = b"XX\x01\x02"
    path.write_bytes(bytes(data))
    return path


def _corrupt_entry_data(path: Path, marker: bytes) -> Path:
    data = path.read_bytes()
    path.write_bytes(data.replace(marker, marker[:-1] + bytes([marker[-1] ^ 1]), 1))
    return path


def _zip_with_info(tmp_path: Path, info: zipfile.ZipInfo, content: bytes) -> Path:
    path = tmp_path / "special.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", META)
        zf.writestr("run.py", FAKE_RUN.replace("MUTATION", ""))
        zf.writestr(info, content)
    return path


def _set_compression(path: Path, name: bytes, method: int) -> Path:
    """Claim compression `method` for `name` in its central directory record."""
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at != -1:
        if data[at + 46:at + 46 + len(name)] == name:
            data[at + 10:at + 12] = method.to_bytes(2, "little")
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))
    return path


def _symlink_info() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("link")
    info.create_system = 3
    info.external_attr = 0o120777 << 16
    return info


def _mark_encrypted(path: Path, name: bytes) -> Path:
    """Set the 'encrypted' flag bit of `name`'s central directory record (zipfile cannot write one)."""
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at != -1:
        if data[at + 46:at + 46 + len(name)] == name:
            data[at + 8] |= 0x1
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("build, reason", [
    (lambda tmp, mz: tmp / "absent.zip", "absent.zip not found"),
    (lambda tmp, mz: (tmp / "dir.zip").mkdir() or tmp / "dir.zip", "is a folder, not a ZIP archive"),
    (lambda tmp, mz: os.mkfifo(tmp / "fifo.zip") or tmp / "fifo.zip", "is not a regular file"),
    (lambda tmp, mz: _corrupt_central_directory(fake(mz)), "the archive is damaged or unreadable (BadZipFile"),
    (lambda tmp, mz: _corrupt_entry_data(mz({"metadata.json": META, "run.py": "x = 'PAYLOAD'"}), b"PAYLOAD"),
     "the archive cannot be unpacked (BadZipFile: Bad CRC-32"),
    (lambda tmp, mz: _zip_with_info(tmp, _symlink_info(), b"/etc/passwd"), "symbolic link in the archive (unpacked as a link on the platform) (1): link"),
    (lambda tmp, mz: _mark_encrypted(_zip_with_info(tmp, zipfile.ZipInfo("secret.py"), b"x"), b"secret.py"),
     "encrypted entry (the platform cannot unpack it) (1): secret.py"),
    (lambda tmp, mz: _set_compression(_zip_with_info(tmp, zipfile.ZipInfo("packed.bin"), b"x"), b"packed.bin", 99),
     "entry with an unsupported compression method (1): packed.bin (99)"),
    (lambda tmp, mz: mz({"metadata.json": b"\xff" + META.encode(), "run.py": ""}), "metadata.json is not UTF-8"),
    (lambda tmp, mz: mz({"metadata.json": "[" * 100_000 + "]" * 100_000, "run.py": ""}), "nested too deeply"),
    (lambda tmp, mz: mz({"metadata.json": '{"image": ' + "9" * 5000 + "}", "run.py": ""}),
     "metadata.json is not usable JSON"),
    (lambda tmp, mz: mz({"metadata.json": json.dumps({"image": "x", "entrypoint": "python3 'run.py"}), "run.py": ""}),
     "'entrypoint' cannot be split into a command"),
    (lambda tmp, mz: mz({"metadata.json": json.dumps({"image": "x", "entrypoint": "   "}), "run.py": ""}),
     "'entrypoint' must be a non-empty string"),
])
def test_broken_archives_fail_with_a_reason(tmp_path, make_zip, small_input, capfd, build, reason):
    archive = build(tmp_path, make_zip)
    assert check(archive, small_input, "--timeout", "60") == 1
    captured = capfd.readouterr()
    assert "check_submission: FAIL" in captured.out and reason in captured.out
    assert "Traceback" not in captured.err


def test_duplicate_names_fail(tmp_path, small_input, capfd):
    path = tmp_path / "dup.zip"
    with zipfile.ZipFile(path, "w") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        zf.writestr("metadata.json", META)
        zf.writestr("run.py", "")
        zf.writestr("run.py", FAKE_RUN.replace("MUTATION", ""))
    assert check(path, small_input) == 1
    assert "name stored twice in the archive (1): run.py" in capfd.readouterr().out


@pytest.mark.parametrize("mutation, reason", [
    ("os.remove('output/predictions.json') if False else None; raw = '[' * 100000 + ']' * 100000",
     "predictions.json is not usable JSON (nested too deeply)"),
    ("raw = '{\"x\": ' + '9' * 5000 + '}'", "predictions.json is not usable JSON"),
    ("preds[ids[0]].append({'type': 'image', 'content': 'a\\x00b.png'})", "image path that is not a usable path"),
    ("import atexit; atexit.register(lambda: (os.remove('output/predictions.json'), "
     "os.mkfifo('output/predictions.json')))", "output/predictions.json: not a regular file"),
    ("import atexit, shutil, tempfile; d = tempfile.mkdtemp(); "
     "atexit.register(lambda: (shutil.move('output', d), os.symlink(d + '/output', 'output')))",
     "output/predictions.json: leaves its folder"),
])
def test_hostile_outputs_fail_with_a_reason(make_zip, small_input, capfd, mutation, reason):
    assert check(fake(make_zip, mutation), small_input, "--timeout", "60") == 1
    captured = capfd.readouterr()
    assert "check_submission: FAIL" in captured.out and reason in captured.out
    assert "Traceback" not in captured.err


def test_entrypoint_that_cannot_start_fails(make_zip, small_input, capfd):
    meta = json.dumps({"image": "x", "entrypoint": "no-such-command-fbc2 --x"})
    assert check(make_zip({"metadata.json": meta, "run.py": ""}), small_input) == 1
    out = capfd.readouterr().out
    # without unshare: the exec fails in Popen; under `unshare -n` the exec fails inside it (code 127)
    assert "cannot be started (No such file or directory)" in out or "exited with code 127" in out


@pytest.mark.parametrize("make_input, reason", [
    (lambda d: d / "absent", "not found"),
    (lambda d: (d / "f").write_text("x") and d / "f", "is a file, not a folder"),
    (lambda d: (d / "in").mkdir() or d / "in", "input.json: not found"),
    (lambda d: (d / "in").mkdir() or (d / "in" / "input.json").write_text("{oops") and d / "in",
     "input.json is not valid JSON"),
    (lambda d: (d / "in").mkdir() or (d / "in" / "input.json").write_text("[1]") and d / "in",
     "input.json is not a JSON object"),
])
def test_unusable_input_folder_is_one_line(tmp_path, make_zip, capsys, make_input, reason):
    assert check(fake(make_zip), make_input(tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.startswith("check_submission: error: ") and reason in err and err.count("\n") == 1


def test_the_checker_survives_an_ascii_console(tmp_path, small_input):
    """Issue 19 class 9: a name it cannot encode crashed the tool before its verdict."""
    archive = tmp_path / "сабмит 😀.zip"
    archive.write_bytes(b"not a zip")
    result = subprocess.run([sys.executable, str(Path(check_submission.__file__)), str(archive), "--input",
                             str(small_input)], capture_output=True, env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert result.returncode == 1, result.stderr
    out = result.stdout.decode("ascii")
    assert "check_submission: FAIL" in out and "\\U0001f600.zip is not a ZIP archive" in out
