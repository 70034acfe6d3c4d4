"""run.py, third round of hostile cases (issue 19, run side; issue 21 item 6): each file or
environment built the way a stranger would build it."""

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.hostile_images import POSTSCRIPT, many_scan_jpeg
from helpers.run_entry import ROOT, read_predictions, write_input
from PIL import EpsImagePlugin, Image

from solution.fbc2_input import Sample, read_input, read_sample_image

TEXT_SAMPLE = {"type": "text", "content": "Что изображено? a) кот; b) собака"}


def run_args(path, out, weights, *extra):
    return ["--input", str(path), "--output", str(out), "--weights", str(weights), "--no-progress", "--no-eco2ai",
            "--no-images", "--max-answer-tokens", "2", *extra]


def summary_counts(err: str) -> str:
    return next(line for line in err.splitlines() if line.startswith("samples: "))


# -- issue 19 class 2: one slow image -----------------------------------------------------------------
def test_a_progressive_jpeg_with_thousands_of_scans_costs_nothing_and_the_rest_is_answered(
        tmp_path, tiny_weights, run_module, capsys):
    folder = tmp_path / "in"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "slow.jpg").write_bytes(many_scan_jpeg(512, 5000))  # about 4 MB, 5000 scans
    path = write_input(folder, {"slow": [{"type": "image", "content": "images/slow.jpg"}, TEXT_SAMPLE],
                                "text": [TEXT_SAMPLE]})
    assert run_module.main(run_args(path, tmp_path / "out", tiny_weights, "--time-budget", "30")) == 0
    err = capsys.readouterr().err
    assert "samples: 2; answered: 2; placeholders: 0" in summary_counts(err)
    assert "unreadable image x1" in err
    assert set(read_predictions(tmp_path / "out")) == {"slow", "text"}


def test_a_slow_image_within_the_scan_limit_stops_at_its_deadline(tmp_path):
    path = tmp_path / "big.jpg"
    path.write_bytes(many_scan_jpeg(4096, 100))  # within the limits, about a second to decode here
    sample = Sample(id="x")
    started = time.monotonic()
    assert read_sample_image(path, "big.jpg", sample, tmp_path, time_left=0.2) is None  # 1/4 of 0.2 s allowed
    assert time.monotonic() - started < 60  # a hang guard, not a speed target
    assert sample.warnings == ["unreadable image: 'big.jpg' (not decoded in the time left (deadline passed))"]


# -- issue 19 class 3: PostScript named .jpg -------------------------------------------------------------
def test_postscript_named_jpg_in_the_input_never_starts_ghostscript(tmp_path, monkeypatch):
    def ghostscript(*args, **kwargs):
        raise AssertionError("Ghostscript was started")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", ghostscript)
    monkeypatch.setattr(EpsImagePlugin, "has_ghostscript", lambda: True)
    folder = tmp_path / "in"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "cat.jpg").write_bytes(POSTSCRIPT)
    parsed = read_input(write_input(folder, {"a": [{"type": "image", "content": "images/cat.jpg"}]}))
    sample = parsed.samples[0]
    assert sample.image is None
    assert any("not an image in a known raster format" in w for w in sample.warnings), sample.warnings


# -- issue 19 class 4: eco2AI confined -------------------------------------------------------------------
def start_and_stop(out: Path, timeout: float = 120):
    from solution.emissions import start_tracker, stop_tracker

    tracker = start_tracker("p", "d TargetValue", out / "emission.csv", "RU", measure_period=60)
    return stop_tracker(tracker, timeout=timeout)


def test_a_link_planted_as_emission_csv_is_replaced_never_followed(tmp_path):
    out = tmp_path / "output"
    out.mkdir()
    victim = tmp_path / "victim.csv"
    os.symlink(victim, out / "emission.csv")
    start_and_stop(out)
    assert not victim.exists()
    assert not (out / "emission.csv").is_symlink()
    header = (out / "emission.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "CO2_emissions(kg)" in header


def test_a_fifo_planted_as_emission_csv_never_hangs_the_run(tmp_path):
    out = tmp_path / "output"
    out.mkdir()
    os.mkfifo(out / "emission.csv")
    start_and_stop(out)  # used to block forever in open()
    assert stat.S_ISREG(os.lstat(out / "emission.csv").st_mode)


def test_another_process_holding_emission_csv_open_does_not_make_eco2ai_loop(tmp_path):
    out = tmp_path / "output"
    out.mkdir()
    (out / "emission.csv").write_text("")
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; f = open(sys.argv[1]); print('open', flush=True); "
                               "time.sleep(300)", str(out / "emission.csv")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        start_and_stop(out, timeout=120)  # eco2AI's "is the file open" check looped while any python held it
    finally:
        holder.kill()
        holder.wait()
    assert "CO2_emissions(kg)" in (out / "emission.csv").read_text(encoding="utf-8")


def test_stopping_eco2ai_has_a_timeout(tmp_path):
    from solution.emissions import ConfinedTracker, stop_tracker

    class Stuck:
        def stop(self):
            time.sleep(3600)

    with pytest.raises(TimeoutError, match="eco2AI did not stop within 0.5 s"):
        stop_tracker(ConfinedTracker(Stuck(), tmp_path, tmp_path / "emission.csv"), timeout=0.5)
    assert not (tmp_path / "emission.csv").exists()


def test_eco2ai_works_with_a_read_only_package_folder(tmp_path, monkeypatch):
    """eco2AI wrote its config.txt into its own package folder; read-only, tracking was silently off.
    Writes into the package folder are refused here as a read-only file system would (root ignores
    file modes)."""
    import builtins

    import eco2ai.utils

    package = Path(eco2ai.utils.__file__).resolve().parent
    config = package / "data" / "config.txt"
    before = config.read_bytes() if config.exists() else None
    real_open = builtins.open

    def read_only_package(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+") and package in Path(file).resolve().parents:
            raise OSError(30, "Read-only file system", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(eco2ai.utils, "open", read_only_package, raising=False)
    out = tmp_path / "output"
    start_and_stop(out)
    assert "CO2_emissions(kg)" in (out / "emission.csv").read_text(encoding="utf-8")
    assert (config.read_bytes() if config.exists() else None) == before
    from solution.emissions import confine_config

    assert package not in confine_config().parents


DRIVER = """
import sys, time
sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
from helpers.run_entry import load_run_module
import solution.emissions as emissions
run = load_run_module()
def stuck(tracker):
    print("STOPPING", file=sys.stderr, flush=True)
    time.sleep(3600)
emissions.start_tracker = lambda *a, **k: object()
emissions.stop_tracker = stuck
sys.exit(run.main(sys.argv[1:]))
"""


def test_sigterm_after_the_final_write_is_never_ignored(tmp_path, tiny_weights):
    """A stuck eco2AI after predictions.json is written: SIGTERM used to be ignored (only SIGKILL ended it)."""
    path = write_input(tmp_path / "in", {"a": [TEXT_SAMPLE], "b": [TEXT_SAMPLE]})
    args = run_args(path, tmp_path / "out", tiny_weights)
    args.remove("--no-eco2ai")
    driver = DRIVER.format(root=str(ROOT), tests=str(ROOT / "tests"))
    proc = subprocess.Popen([sys.executable, "-c", driver, *args], stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            if line.strip() == "STOPPING":
                break
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert code == -signal.SIGTERM
    assert set(read_predictions(tmp_path / "out")) == {"a", "b"}


SLOW_IMPORT_DRIVER = """
import builtins, sys, time
real_import = builtins.__import__
announced = []
def slow_import(name, *args, **kwargs):
    if name == "torch" and not announced:
        announced.append(name)
        print("IMPORTING torch", file=sys.stderr, flush=True)
        time.sleep(2)
    return real_import(name, *args, **kwargs)
builtins.__import__ = slow_import
sys.argv = ["run.py", *sys.argv[1:]]
import runpy
runpy.run_path({run_py!r}, run_name="__main__")
"""


def test_sigterm_during_the_slow_imports_leaves_a_file_of_placeholders(tmp_path, tiny_weights):
    """Issue 19 class 8: the handler was installed after the slow imports (exit 143, no file)."""
    path = write_input(tmp_path / "in", {"a": [TEXT_SAMPLE], "b": [TEXT_SAMPLE]})
    driver = SLOW_IMPORT_DRIVER.format(run_py=str(ROOT / "run.py"))
    proc = subprocess.Popen([sys.executable, "-c", driver, *run_args(path, tmp_path / "out", tiny_weights)],
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stderr.readline().strip() == "IMPORTING torch"
        proc.send_signal(signal.SIGTERM)
        err = proc.stderr.read()
        code = proc.wait(timeout=120)
    finally:
        proc.kill()
        proc.wait()
    assert code == 0, err
    assert "interrupted (SIGTERM) before the model started: predictions.json is complete" in err
    assert read_predictions(tmp_path / "out") == {"a": [{"type": "text", "content": ""}],
                                                  "b": [{"type": "text", "content": ""}]}


# -- issue 19 class 5: launcher variables without a launcher ---------------------------------------------
@pytest.mark.parametrize("env, warning", [
    ({"WORLD_SIZE": "abc"}, "WORLD_SIZE=abc is not a positive whole number: running as one process"),
    ({"WORLD_SIZE": "0"}, "WORLD_SIZE=0 is not a positive whole number"),
    ({"WORLD_SIZE": "2"}, "WORLD_SIZE=2 with no RANK (no launcher): running as one process"),
    ({"WORLD_SIZE": "2", "RANK": "5"}, "WORLD_SIZE=2 with RANK=5, not one of 0..1"),
    ({"WORLD_SIZE": "2", "RANK": "0"}, "WORLD_SIZE=2 with no MASTER_ADDR or MASTER_PORT"),
])
def test_unusable_launcher_variables_are_a_warning_and_one_process(tmp_path, tiny_weights, run_module, capsys,
                                                                   monkeypatch, env, warning):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    path = write_input(tmp_path / "in", {"a": [TEXT_SAMPLE], "b": [TEXT_SAMPLE]})
    assert run_module.main(run_args(path, tmp_path / "out", tiny_weights)) == 0
    err = capsys.readouterr().err
    assert f"run.py: warning: {warning}" in err
    assert "answered: 2; placeholders: 0" in summary_counts(err)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_placeholders_are_on_disk_before_distributed_set_up_which_falls_back(tmp_path, tiny_weights, run_module,
                                                                              capsys, monkeypatch):
    import torch.distributed

    for name, value in {"WORLD_SIZE": "2", "RANK": "0", "MASTER_ADDR": "127.0.0.1",
                        "MASTER_PORT": str(free_port())}.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "out"
    seen = []

    def init_process_group(**kwargs):
        seen.append((read_predictions(out), kwargs["timeout"].total_seconds()))
        raise RuntimeError("no peer joined")

    monkeypatch.setattr(torch.distributed, "init_process_group", init_process_group)
    path = write_input(tmp_path / "in", {"a": [TEXT_SAMPLE], "b": [TEXT_SAMPLE]})
    assert run_module.main(run_args(path, out, tiny_weights, "--time-budget", "100")) == 0
    placeholders, timeout = seen[0]
    assert placeholders == {"a": [{"type": "text", "content": ""}], "b": [{"type": "text", "content": ""}]}
    assert timeout == pytest.approx(10, abs=0.5)  # 10 % of the 100 s budget
    err = capsys.readouterr().err
    assert "distributed set-up as rank 0 of 2 failed within 10 s (no peer joined): running as one process" in err
    assert "answered: 2; placeholders: 0" in summary_counts(err)


def test_a_master_without_its_peer_gives_up_within_the_budget(tmp_path, tiny_weights):
    """WORLD_SIZE=2 RANK=0 and no second process: torch waits 30 min by default."""
    env = {**os.environ, "WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(free_port()), "PYTHONPATH": str(ROOT)}
    path = write_input(tmp_path / "in", {"a": [TEXT_SAMPLE]})
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), *run_args(path, tmp_path / "out", tiny_weights,
                                                                             "--time-budget", "30")],
                            capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr
    assert re.search(r"distributed set-up as rank 0 of 2 failed within \d s \(Timed out", result.stderr)  # 10 % left
    assert "answered: 1; placeholders: 0" in summary_counts(result.stderr)


# -- issue 19 class 7: file modes as the umask says -------------------------------------------------------
@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_run_outputs_get_the_modes_the_umask_allows(tmp_path, tiny_weights, run_module, umask):
    path = write_input(tmp_path / "in", {"a": [{"type": "text", "content": "Нарисуй кота"}]})
    out = tmp_path / "out"
    args = [a for a in run_args(path, out, tiny_weights) if a != "--no-images"]
    old = os.umask(umask)
    try:
        assert run_module.main(args) == 0
    finally:
        os.umask(old)
    image = read_predictions(out)["a"][1]["content"]
    for name in ("predictions.json", "run_state.json", image):
        assert stat.S_IMODE(os.stat(out / name).st_mode) == 0o666 & ~umask, name
    for name in ("", "images"):
        assert stat.S_IMODE(os.stat(out / name).st_mode) == 0o777 & ~umask, name


def test_emission_csv_gets_the_mode_the_umask_allows(tmp_path):
    old = os.umask(0o022)
    try:
        written = start_and_stop(tmp_path / "output")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(written).st_mode) == 0o644


# -- issue 19 class 9: a console that cannot encode ------------------------------------------------------
def test_run_py_survives_an_ascii_console(tmp_path, tiny_weights):
    folder = tmp_path / "in"
    path = write_input(folder, {"😀 ±": [{"type": "image", "content": "images/кот 😀.jpg"}, TEXT_SAMPLE]})
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), *run_args(path, tmp_path / "out", tiny_weights)],
                            capture_output=True, timeout=600, env=env)
    err = result.stderr.decode("ascii")
    assert result.returncode == 0, err
    assert "\\u043a\\u043e\\u0442 \\U0001f600.jpg" in err  # the missing image's name, escaped
    assert list(read_predictions(tmp_path / "out")) == ["😀 ±"]


# -- issue 21 item 6 --------------------------------------------------------------------------------------
def test_input_may_name_the_folder_of_input_json(tmp_path, tiny_weights, run_module):
    path = write_input(tmp_path / "in", {"a": [TEXT_SAMPLE]})
    assert run_module.main(run_args(path.parent, tmp_path / "out", tiny_weights)) == 0
    assert list(read_predictions(tmp_path / "out")) == ["a"]


def test_missing_images_are_counted_before_the_model_loads(tmp_path, tiny_weights, run_module, capsys, monkeypatch):
    import solution.weights

    folder = tmp_path / "in"
    (folder / "images").mkdir(parents=True)
    Image.new("RGB", (16, 16)).save(folder / "images" / "there.jpg")
    path = write_input(folder, {"a": [{"type": "image", "content": "images/gone1.jpg"}, TEXT_SAMPLE],
                                "b": [{"type": "image", "content": "images/gone2.jpg"}, TEXT_SAMPLE],
                                "c": [{"type": "image", "content": "images/there.jpg"}, TEXT_SAMPLE],
                                "d": [{"type": "image", "content": "../outside.jpg"}, TEXT_SAMPLE]})
    before_loading = []
    real_load = solution.weights.load_weights

    def load_weights(*args, **kwargs):
        before_loading.append(capsys.readouterr().err)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(solution.weights, "load_weights", load_weights)
    assert run_module.main(run_args(path, tmp_path / "out", tiny_weights)) == 0
    assert ("run.py: warning: 3 of the input's image files are missing or refused (the first: missing image: "
            "'images/gone1.jpg'); those samples are answered without their image") in before_loading[0]


def test_overwrite_clears_the_earlier_emission_csv(tmp_path, tiny_weights, run_module):
    path = write_input(tmp_path / "in", {"a": [TEXT_SAMPLE]})
    out = tmp_path / "out"
    assert run_module.main(run_args(path, out, tiny_weights)) == 0
    (out / "emission.csv").write_text("an earlier run's rows\n")
    assert run_module.main(run_args(path, out, tiny_weights, "--overwrite")) == 0
    assert not (out / "emission.csv").exists()


def test_a_no_images_summary_names_no_images_folder_that_does_not_exist(tmp_path, tiny_weights, run_module, capsys):
    path = write_input(tmp_path / "in", {"a": [{"type": "text", "content": "Нарисуй кота"}]})
    assert run_module.main(run_args(path, tmp_path / "out", tiny_weights)) == 0
    output_line = next(line for line in capsys.readouterr().err.splitlines() if line.startswith("output: "))
    assert output_line == f"output: {(tmp_path / 'out').resolve() / 'predictions.json'}"
    assert not (tmp_path / "out" / "images").exists()


def test_placeholder_file_of_a_resumed_run_is_not_overwritten(tmp_path, tiny_weights, run_module):
    path = write_input(tmp_path / "in", {"a": [TEXT_SAMPLE], "b": [TEXT_SAMPLE]})
    out = tmp_path / "out"
    assert run_module.main(run_args(path, out, tiny_weights)) == 0
    first = json.loads((out / "predictions.json").read_text(encoding="utf-8"))
    assert run_module.main(run_args(path, out, tiny_weights, "--resume")) == 0
    assert json.loads((out / "predictions.json").read_text(encoding="utf-8")) == first


def test_stop_requests_hold_raise_and_release_a_sigterm_once(run_module):
    calls = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: calls.append(signum))
    try:
        stops = run_module.StopRequests()
        stops.install()
        signal.raise_signal(signal.SIGTERM)  # before the placeholder file: remembered
        with pytest.raises(run_module.Interrupted, match="SIGTERM"):
            stops.raise_from_now()
        with pytest.raises(run_module.Interrupted):
            signal.raise_signal(signal.SIGTERM)  # while the model works: at once
        stops.hold()
        signal.raise_signal(signal.SIGTERM)  # during the final write: remembered ...
        assert calls == []
        stops.release()  # ... and handed to the handler found at the start, once
        assert calls == [signal.SIGTERM]
        stops.release()
        assert calls == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)
