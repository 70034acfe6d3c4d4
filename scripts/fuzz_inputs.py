#!/usr/bin/env python3
"""Fuzz run.py with random hostile input.json files and check its guarantees (README, 'Reliability').

Each case builds a sandbox ``case/{input,output,outside}``: ``outside/`` holds a valid image and a
file to protect, ``input/`` holds images, links and a FIFO pointing there, ``output/`` may hold
planted links to ``outside/``. A random input.json (hostile ids, paths, texts, shapes; sometimes a
file that cannot be parsed at all) is answered in-process by ``run.py`` with an audit hook
recording every file opened, renamed or removed. Every case must give:

- exit 0 for a readable input.json; exit 2 with exactly one ``run.py:`` line for one that is not;
- on exit 0, a predictions.json with every input id (lone surrogates included), each with a text,
  and no sample failed (per-sample isolation is the safety net, not the way hostile input is met);
- nothing opened, written, renamed or removed inside the sandbox outside ``input/`` (reads only) and
  ``output/``; ``outside/`` and ``input/`` unchanged byte for byte;
- no program started (a PostScript file among the images must never reach Ghostscript; with eco2AI
  on, only what eco2AI and py-cpuinfo run: ``top``, ``lscpu``, ``file``, ``uname``, a python helper);
- the output files get the modes the umask allows (0666 & ~umask).

Issue 19's classes are among the random cases: images that are slow to decode (a progressive JPEG
with thousands of scans), PostScript named .jpg, a header claiming 10^10 pixels; launcher variables
without a launcher (WORLD_SIZE=abc, WORLD_SIZE=2 without RANK or a master); eco2AI on with a link or
a FIFO planted as output/emission.csv (the link's target must stay untouched, the file must be a
regular one afterwards).

``--scale`` then times two subprocess runs with ``--time-budget 30`` (20,000 text samples; 3,000
image samples) and checks that each ends within the budget plus ``--slack`` seconds of wall time.

  python scripts/fuzz_inputs.py --weights weights/tiny --cases 40 --scale
  python scripts/init_weights.py --config tiny --out /tmp/tiny   # tiny random weights, if needed
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import random
import stat
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fbc2_io.console import make_console_safe  # noqa: E402

HOSTILE_PATHS = ["images/ok.png", "images/link.png", "linkdir/secret.png", "../outside/secret.png", "fifo",
                 "images/slow.jpg", "images/postscript.jpg", "images/claims_1e10_pixels.png", "images/cut.jpg",
                 "images", "a\0b.png", "\ud800.png", "\udcff.png", "n" * 300 + ".png", "d/" * 2100 + "x.png",
                 "", " ", "images/../../outside/secret.png", "./images/ok.png", "images/missing.png"]
HOSTILE_TEXTS = ["Что на картинке?", "a) да; b) нет", "; ".join(f"{c}) {c}" for c in "abcdefgh") + "; a) x",
                 "\ud800 кот \udfff", "\0", "a)", "", "x" * 30000, "Нарисуй кота"]
LAUNCHER_ENVIRONMENTS = [{"WORLD_SIZE": "abc"}, {"WORLD_SIZE": "2"}, {"WORLD_SIZE": "2", "RANK": "0"},
                         {"WORLD_SIZE": "3", "RANK": "7", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1"}]
LAUNCHER_VARIABLES = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
ECO2AI_COMMANDS = {"top", "lscpu", "file", "uname", "python"}  # eco2AI and its py-cpuinfo (platform, a helper)
SLOW_JPEG = b""  # a progressive JPEG with 3000 scans, built once by fuzz()
UNPARSABLE = ["[" * 5000 + "]" * 5000, '{"a": [{"type": "text", "content": ' + "7" * 6000 + "}]}", '{"a": ',
              "[1, 2]", "\ufeff{}x", "null"]


class FileWatch:
    """Audit-hook record of file events with a path inside ``sandbox`` while ``active``."""

    EVENTS = {"open", "os.rename", "os.remove", "os.rmdir", "os.mkdir", "os.symlink", "shutil.rmtree"}
    PROGRAMS = {"subprocess.Popen", "os.posix_spawn", "os.exec", "os.system"}

    def __init__(self):
        self.active = False
        self.sandbox: Path | None = None
        self.events: list[tuple[str, str, bool]] = []  # (event, resolved path, writes)
        self.programs: list[str] = []  # programs started
        sys.addaudithook(self._hook)

    def _hook(self, event, args):
        if self.active and event in self.PROGRAMS and args:
            self.programs.append(program_name(event, args))
        if not self.active or event not in self.EVENTS or not args:
            return
        paths = [a for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))]
        writes = event != "open" or _open_writes(args)
        for raw in paths[: 2 if event == "os.rename" else 1]:
            try:  # open follows links; rename, remove and mkdir act on the link itself
                path = (os.path.realpath if event == "open" else os.path.abspath)(os.fsdecode(raw))
            except (TypeError, ValueError, UnicodeError):
                continue
            if path.startswith(str(self.sandbox) + os.sep):
                self.events.append((event, path, writes))


def program_name(event: str, args: tuple) -> str:
    """The program an audit event starts: for a shell (``os.system``, ``os.popen``), its command's."""
    argv = args[1] if event != "os.system" and len(args) > 1 else None
    if event == "os.system":
        words = os.fsdecode(args[0]).split()
    elif isinstance(argv, (list, tuple)) and len(argv) > 2 and argv[1] == "-c":
        words = os.fsdecode(argv[2]).split()
    elif isinstance(argv, (list, tuple)) and argv:
        words = [os.fsdecode(argv[0])]
    else:
        words = [os.fsdecode(args[0]) if isinstance(args[0], (str, bytes)) else str(argv)]
    return os.path.basename(words[0]) if words else "?"


def _open_writes(args) -> bool:
    mode, flags = (args[1] if len(args) > 1 else None), (args[2] if len(args) > 2 else 0)
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    return bool(isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))


def random_id(rng: random.Random, k: int) -> str:
    stem = rng.choice(["", "id", "\ud800", "\udfff", "x" * 300, "a/b", "..", "\0", "кот", " ", "image_1.jpg"])
    return f"{stem}{k}"


def random_item(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if roll < 0.4:
        content = rng.choice(HOSTILE_TEXTS) if rng.random() < 0.8 else rng.choice([5, None, ["a", "b"], {"x": 1}])
        return {"type": "text", "content": content}
    if roll < 0.75:
        return {"type": "image", "content": rng.choice(HOSTILE_PATHS) if rng.random() < 0.9 else rng.choice([3, None])}
    if roll < 0.85 and depth < 3:
        return [random_item(rng, depth + 1) for _ in range(rng.randrange(3))]
    return rng.choice(["text", 7, None, {"type": "audio"}, {"content": "x"}, {}])


def random_input(rng: random.Random) -> tuple[str, list[str] | None]:
    """(input.json text, the ids it holds, or None for a file that must be refused)."""
    if rng.random() < 0.15:
        return rng.choice(UNPARSABLE), None
    ids = [random_id(rng, k) for k in range(rng.randrange(1, 7))]
    data = {}
    for sample_id in ids:
        shape = rng.random()
        if shape < 0.7:
            data[sample_id] = [random_item(rng) for _ in range(rng.randrange(0, 4))]
        elif shape < 0.85:
            data[sample_id] = random_item(rng)
        else:
            data[sample_id] = rng.choice([17, "x", None, {"type": "text", "content": "Привет"}])
    return json.dumps(data, ensure_ascii=True), list(data)


def hostile_images(folder: Path) -> None:
    """The image files of issue 19, built as a stranger would (tests/helpers/hostile_images.py)."""
    from helpers.hostile_images import POSTSCRIPT, jpeg_bytes, png_claiming

    (folder / "slow.jpg").write_bytes(SLOW_JPEG)
    (folder / "postscript.jpg").write_bytes(POSTSCRIPT)
    (folder / "claims_1e10_pixels.png").write_bytes(png_claiming(100_000, 100_000))
    (folder / "cut.jpg").write_bytes(jpeg_bytes(Image.new("RGB", (64, 64)))[:200])


def build_sandbox(case: Path, rng: random.Random, input_text: str, eco2ai: bool) -> None:
    inp, out, outside = case / "input", case / "output", case / "outside"
    (inp / "images").mkdir(parents=True)
    outside.mkdir()
    Image.new("RGB", (16, 16), (250, 0, 0)).save(outside / "secret.png")
    (outside / "victim.txt").write_text("do not touch")
    Image.new("RGB", (20, 12), (0, 90, 200)).save(inp / "images" / "ok.png")
    hostile_images(inp / "images")
    os.symlink(outside / "secret.png", inp / "images" / "link.png")
    os.symlink(outside, inp / "linkdir")
    os.mkfifo(inp / "fifo")
    (inp / "input.json").write_text(input_text, encoding="utf-8")
    if rng.random() < 0.5:  # planted links where run.py writes
        from solution.pipeline import image_file_name

        (out / "images").mkdir(parents=True)
        for k in range(7):
            for stem in ("id", "кот", ""):
                name = image_file_name(f"{stem}{k}")
                if not (out / "images" / name).is_symlink():
                    os.symlink(outside / "victim.txt", out / "images" / name)
        if rng.random() < 0.5:
            os.symlink(outside / "victim.txt", out / "predictions.json")
    elif rng.random() < 0.3:
        out.mkdir()
        os.symlink(outside, out / "images")
    if eco2ai:  # a link or a FIFO where eco2AI's CSV goes
        out.mkdir(exist_ok=True)
        if rng.random() < 0.5:
            os.symlink(outside / "victim.txt", out / "emission.csv")
        else:
            os.mkfifo(out / "emission.csv")


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under ``folder``: link targets, file hashes, 'dir' or 'fifo' (no FIFO is opened)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            found[rel] = "-> " + os.readlink(path)
        elif path.is_dir():
            found[rel] = "dir"
        elif path.is_file():
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[rel] = "special"
    return found


def run_in_process(run_module, argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = run_module.main(argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except BaseException:
            return -1, traceback.format_exc()
    return code, err.getvalue()


def check_case(case: Path, ids: list[str] | None, code: int, err: str, watch: FileWatch,
               before: dict[str, dict[str, str]], eco2ai: bool, umask: int) -> list[str]:
    problems = []
    started = [name for name in watch.programs if not (eco2ai and name in ECO2AI_COMMANDS)]
    if started:
        problems.append(f"programs started: {sorted(set(started))}")
    if code == 0 and ids is not None:
        mode = stat.S_IMODE(os.stat(case / "output" / "predictions.json").st_mode)
        if mode != 0o666 & ~umask:
            problems.append(f"predictions.json has mode {mode:o} under umask {umask:03o}")
    if code == 0 and ids is not None and eco2ai and not stat.S_ISREG(os.lstat(case / "output" / "emission.csv").st_mode):
        problems.append("output/emission.csv is not a regular file after an eco2AI run")
    if code == 2:
        lines = err.strip().splitlines()
        if len(lines) != 1 or not lines[0].startswith("run.py: "):
            problems.append(f"exit 2 without exactly one run.py: line: {err[-600:]!r}")
    elif code != 0:
        problems.append(f"exit {code}: {err[-1500:]}")
    if ids is None and code != 2:
        problems.append(f"an unparsable input.json gave exit {code}")
    if ids is not None and code != 0:
        problems.append(f"a readable input.json gave exit {code}: {err.strip()[-300:]!r}")
    failed = [line for line in err.splitlines() if line.startswith("run.py: warning: sample ")]
    if failed:  # per-sample isolation is the safety net: hostile input alone must not need it
        problems.append(f"{len(failed)} samples failed, the first: {failed[0][:300]}")
    if code == 0 and ids is not None:
        try:
            predictions = json.loads((case / "output" / "predictions.json").read_bytes())
        except (OSError, ValueError) as e:
            problems.append(f"no readable predictions.json: {e}")
        else:
            if list(predictions) != ids:
                problems.append(f"ids differ: {len(predictions)} written, {len(ids)} given")
            elif any(not items or items[0].get("type") != "text" for items in predictions.values()):
                problems.append("a sample without a text answer")
    for event, path, writes in watch.events:
        rel = Path(path).relative_to(case)
        top = rel.parts[0] if rel.parts else ""
        if top == "output" or (top == "input" and not writes):
            continue
        problems.append(f"{event} {'(write) ' if writes else ''}outside the allowed folders: {rel}")
    for name in ("input", "outside"):
        if snapshot(case / name) != before[name]:
            problems.append(f"{name}/ changed")
    return problems


def fuzz(weights: Path, cases: int, seed: int, work: Path) -> int:
    global SLOW_JPEG
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers.hostile_images import many_scan_jpeg
    from helpers.run_entry import load_run_module

    SLOW_JPEG = many_scan_jpeg(256, 3000)

    run_module = load_run_module()
    watch = FileWatch()
    failures, exits = 0, {}
    for k in range(cases):
        rng = random.Random(seed * 100_003 + k)
        case = work / f"case{k:03d}"
        text, ids = random_input(rng)
        eco2ai = rng.random() < 0.15
        launcher = rng.choice(LAUNCHER_ENVIRONMENTS) if rng.random() < 0.2 else {}
        umask = rng.choice([0o022, 0o002, 0o077])
        build_sandbox(case, rng, text, eco2ai)
        before = {name: snapshot(case / name) for name in ("input", "outside")}
        argv = ["--input", str(case / "input" / "input.json"), "--output", str(case / "output"), "--weights",
                str(weights), "--max-answer-tokens", "2", "--batch-size", str(rng.choice([1, 3, 8])),
                *([] if eco2ai else ["--no-eco2ai"])]
        watch.sandbox, watch.events, watch.programs, watch.active = case.resolve(), [], [], True
        saved = {name: os.environ.pop(name, None) for name in LAUNCHER_VARIABLES}
        os.environ.update(launcher)
        old_umask = os.umask(umask)
        try:
            code, err = run_in_process(run_module, argv)
        finally:
            watch.active = False
            os.umask(old_umask)
            for name, value in saved.items():
                os.environ.pop(name, None)
                if value is not None:
                    os.environ[name] = value
        exits[code] = exits.get(code, 0) + 1
        problems = check_case(case.resolve(), ids, code, err, watch, before, eco2ai, umask)
        if problems:
            failures += 1
            print(f"case {k} (seed {seed}) FAILED:\n  " + "\n  ".join(problems[:8]), file=sys.stderr)
    print(f"fuzz: {cases} cases, exits {dict(sorted(exits.items()))}, {failures} failed")
    return failures


def scale_input(folder: Path, n_text: int, n_image: int) -> Path:
    (folder / "images").mkdir(parents=True)
    data = {}
    for i in range(n_text):
        text = f"Вопрос {i}: сколько будет {i} + 1? a) {i}; b) {i + 1}" if i % 2 else f"Опиши предмет номер {i}."
        data[f"t{i}"] = [{"type": "text", "content": text}]
    for i in range(n_image):
        Image.new("RGB", (32, 24), (i % 256, (7 * i) % 256, 90)).save(folder / "images" / f"{i}.jpg")
        data[f"v{i}"] = [{"type": "text", "content": "Что на картинке?"}, {"type": "image", "content": f"images/{i}.jpg"}]
    path = folder / "input.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def scale(weights: Path, work: Path, budget: float, slack: float) -> int:
    failures = 0
    for name, n_text, n_image in (("20000 text samples", 20_000, 0), ("3000 image samples", 0, 3_000)):
        folder = work / name.replace(" ", "_")
        path = scale_input(folder / "input", n_text, n_image)
        start = time.monotonic()
        result = subprocess.run([sys.executable, str(ROOT / "run.py"), "--input", str(path), "--output",
                                 str(folder / "output"), "--weights", str(weights), "--time-budget", str(budget)],
                                capture_output=True, text=True, timeout=budget * 10 + 120)
        wall = time.monotonic() - start
        predictions = json.loads((folder / "output" / "predictions.json").read_bytes()) if result.returncode == 0 else {}
        ok = result.returncode == 0 and len(predictions) == n_text + n_image and wall <= budget + slack
        failures += not ok
        summary = [line for line in result.stderr.splitlines() if line.startswith(("samples:", "time"))]
        print(f"scale: {name}, --time-budget {budget:g}: {wall:.1f} s wall (limit {budget + slack:g}), "
              f"exit {result.returncode}, {len(predictions)} ids written -> {'ok' if ok else 'FAILED'}")
        for line in summary:
            print(f"  {line}")
        if result.returncode != 0:
            print(result.stderr[-2000:], file=sys.stderr)
    return failures


def main(argv=None) -> int:
    make_console_safe()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path, required=True, help="weights folder (tiny random weights are enough)")
    p.add_argument("--cases", type=int, default=40, help="random hostile cases (default 40)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scale", action="store_true", help="also time the 20,000-text and 3,000-image runs")
    p.add_argument("--time-budget", type=float, default=30.0, help="--time-budget of the scale runs (default 30)")
    p.add_argument("--slack", type=float, default=8.0,
                   help="seconds of wall time allowed past the budget, Python start-up included (default 8)")
    p.add_argument("--work", type=Path, help="keep the sandboxes in this folder (default: a temporary one)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fuzz_inputs_") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        failures = fuzz(args.weights, args.cases, args.seed, work / "cases") if args.cases else 0
        if args.scale:
            failures += scale(args.weights, work / "scale", args.time_budget, args.slack)
    print("fuzz_inputs: all guarantees held" if not failures else f"fuzz_inputs: {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
