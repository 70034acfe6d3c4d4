#!/usr/bin/env python3
"""Fuzz the leaderboard with random hostile team folders.

Each round builds a small FBC2 set and a few team folders drawn at random from a list of hostile
ingredients (broken or deeply nested JSON, huge integers, NUL and surrogate image paths, FIFOs
where files should be, links out of the folder, non-UTF-8 or formula-like names, bad CO2 values,
oversized images, shared names, look-alike and emoji names, crafted eco2AI rows, PostScript named
as a PNG, progressive JPEGs with thousands of scans ...), runs `python -m evaluator leaderboard`
in-process with CSV, JSON, Markdown and HTML outputs and its stdout/stderr encoded as UTF-8, ASCII
or cp1251 (drawn per round), and asserts that:

- the run exits 0 and writes every output; the JSON keeps its keys;
- no process but git and uname (provenance) is started (an audit hook records subprocess, exec, spawn and
  system calls: a PostScript image must never reach Ghostscript);
- teams whose names are the same after normalisation but differ as text are flagged as look-alikes;
- a CO2 value is above 0 and comes from a row `evaluator.co2_rows` accepts;
- every team is in the JSON, ranked or as an unranked error row listed after the ranked ones;
- no file outside the team folders and the set is opened (an audit hook records every open),
  in particular the "canary" file that links in the team folders point at;
- the canary's content appears in no output; CSV cells never start a formula.

  python scripts/fuzz_teams.py --rounds 50 --seed 1
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CANARY_TEXT = "CANARY-SECRET-7f3a"
CONSOLE_ENCODINGS = ("utf-8", "ascii", "cp1251")
PROCESS_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "pty.spawn")
ALLOWED_PROGRAMS = ("git", "uname")  # provenance: the evaluator's commit, platform.processor()
EMISSION_HEADER = "id,project_name,experiment_description,epoch,start_time,duration(s),power_consumption(kWh)," \
                  "CO2_emissions(kg),CPU_name,GPU_name,OS,region/country,cost"
FORMULA_STARTS = ("=", "+", "@", "\t", "\r")


def text(content):
    return [{"type": "text", "content": content}]


def image(content):
    return [{"type": "image", "content": content}]


def write_set(root: Path) -> dict:
    """A 6-sample set (TextQA 0,1; ImageGeneration 2,3; VisualQA 4,5) with its images."""
    from PIL import Image

    gt = root / "gt"
    (gt / "images").mkdir(parents=True)
    for sid in ("2", "3"):
        Image.new("RGB", (16, 16), (int(sid) * 60, 0, 0)).save(gt / "images" / f"{sid}.png")
    truth = {"0": text(["кот"]), "1": text(["дом"]), "2": image("images/2.png"), "3": image("images/3.png"),
             "4": text(["2"]), "5": text(["красный"])}
    (gt / "ground_truth.json").write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
    (gt / "sample_ids.json").write_text(json.dumps({"0": 0, "1": 0, "2": 2, "3": 2, "4": 4, "5": 4}), encoding="utf-8")
    return truth


def random_json(rng: random.Random, depth: int = 0):
    """A random JSON value of any shape (for predictions' values)."""
    kinds = ["str", "int", "float", "bool", "null", "list", "dict", "item"]
    kind = rng.choice(kinds if depth < 4 else kinds[:5])
    if kind == "str":
        return rng.choice(["", "a", "кот", "\x00", "\ud800", "к\udfff", "=1+1", "x" * rng.randint(0, 3000),
                           "../../etc/passwd", "images/2.png"])
    if kind == "int":
        return rng.choice([0, -1, 2**63, 10**300])
    if kind == "float":
        return rng.choice([0.5, -0.0, 1e308])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "list":
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if kind == "dict":
        return {rng.choice(["type", "content", "x"]): random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return [{"type": rng.choice(["text", "image", "video"]), "content": random_json(rng, depth + 1)}]


def _good_predictions(folder: Path) -> dict:
    from PIL import Image

    (folder / "images").mkdir(parents=True, exist_ok=True)
    for sid in ("2", "3"):
        Image.new("RGB", (16, 16), (0, int(sid) * 60, 0)).save(folder / "images" / f"{sid}.png")
    return {"0": text("кот"), "1": text("сад"), "2": image("images/2.png"), "3": image("images/3.png"),
            "4": text("2"), "5": text("синий")}


def _emission(folder: Path, co2: str, kwh: str = "0.1", header: str = EMISSION_HEADER, extra: str = "") -> None:
    """An eco2AI CSV whose TargetValue row used 0.1 kWh in an hour (100 W) unless told otherwise."""
    _put(folder / "emission.csv",
         header + "\n" + f"r,FBC2,TargetValue,N/A,2022,3600,{kwh},{co2},cpu,gpu,Linux,RU,0{extra}\n")


def ingredient_names() -> list[str]:
    return sorted(name[len("_ing_"):] for name in globals() if name.startswith("_ing_"))


def _put(path: Path, data: str | bytes) -> None:
    """Replace whatever is at `path` (a link, a FIFO) by a regular file holding `data`."""
    path.unlink(missing_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def _editable_predictions(folder: Path) -> dict | None:
    """The team's predictions when an earlier ingredient left them a readable JSON object, else None."""
    path = folder / "predictions.json"
    if path.is_symlink() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


# Each ingredient damages a team folder that already holds good predictions.
def _ing_broken_json(rng, folder, canary):
    _put(folder / "predictions.json", rng.choice(["{oops", "", "[1,2]", "null", '{"0": }']))


def _ing_deep_json(rng, folder, canary):
    depth = rng.choice([2000, 100000])
    _put(folder / "predictions.json", '{"0": ' + "[" * depth + "]" * depth + "}")


def _ing_huge_integer(rng, folder, canary):
    _put(folder / "predictions.json", '{"0": ' + "9" * rng.choice([5000, 50000]) + "}")


def _ing_random_values(rng, folder, canary):
    data = {rng.choice(["0", "1", "2", "3", "4", "5", "99"]): random_json(rng) for _ in range(rng.randint(0, 8))}
    _put(folder / "predictions.json", json.dumps(data))


def _ing_bad_image_paths(rng, folder, canary):
    data = _editable_predictions(folder)
    if data is None:
        return
    data[rng.choice(["2", "3"])] = image(rng.choice(["a\x00b.png", "\ud800.png", "/etc/passwd", "../../x.png", "",
                                                     str(canary), "images/"]))
    _put(folder / "predictions.json", json.dumps(data))


def _ing_image_link_out(rng, folder, canary):
    target = folder / "images" / "2.png"
    target.unlink(missing_ok=True)
    target.symlink_to(canary)


def _ing_fifo_predictions(rng, folder, canary):
    (folder / "predictions.json").unlink(missing_ok=True)
    os.mkfifo(folder / "predictions.json")


def _ing_fifo_image(rng, folder, canary):
    (folder / "images" / "3.png").unlink(missing_ok=True)
    os.mkfifo(folder / "images" / "3.png")


def _ing_predictions_link_out(rng, folder, canary):
    (folder / "predictions.json").unlink(missing_ok=True)
    (folder / "predictions.json").symlink_to(canary)


def _ing_name_link_out(rng, folder, canary):
    (folder / "name.txt").unlink(missing_ok=True)
    (folder / "name.txt").symlink_to(canary)


def _ing_fifo_name(rng, folder, canary):
    (folder / "name.txt").unlink(missing_ok=True)
    os.mkfifo(folder / "name.txt")


def _ing_hostile_name(rng, folder, canary):
    name = rng.choice([b"=HYPERLINK(\"http://x\",\"y\")", b"\xff\xfe\x80bad", b"<script>alert(1)</script> | *x*",
                       b"\x1b[31mred\x1b[0m\n2nd line", b"@SUM(A1)", b"-cmd", b"\t\rtab", b"", b"x" * 100000,
                       "\u202eevil".encode()])
    _put(folder / "name.txt", name)


def _ing_shared_name(rng, folder, canary):
    _put(folder / "name.txt", "Same Name\n")


LOOK_ALIKES = ("S\u0430me Name", "Same\u200b Name", "Same Name\u0301", "\uff33\uff41\uff4d\uff45 Name",
               "\u0405ame \u039dame", "SAME NAME", "Same\u00a0Name", "Sa\u034fme Name\ufe0f")


def _ing_look_alike_name(rng, folder, canary):
    _put(folder / "name.txt", rng.choice(LOOK_ALIKES) + "\n")


def _ing_emoji_name(rng, folder, canary):
    _put(folder / "name.txt", rng.choice(["Команда \U0001f680", "\U0001f525\U0001f525", "\u2603 snow",
                                          "\U0001f468\u200d\U0001f4bb team"]) + "\n")


def _ing_bad_co2(rng, folder, canary):
    _emission(folder, rng.choice(["-1", "nan", "inf", "-inf", "1e999", "x", "", "9" * 400]))


def _ing_good_co2(rng, folder, canary):
    _emission(folder, rng.choice(["0.001", "0.0436529", "0.096"]))  # 10, 436.5 and 960 kg per MWh


def _ing_crafted_co2(rng, folder, canary):
    kind = rng.choice(["vanishing", "second_column", "out_of_range", "no_energy"])
    if kind == "vanishing":
        _emission(folder, rng.choice(["-0", "0.0", "5e-324", "0"]), kwh="0.5")
    elif kind == "second_column":  # csv.DictReader would keep the last, planted value
        _emission(folder, "0.0436529", header=EMISSION_HEADER + ",CO2_emissions(kg)", extra=",0.0000001")
    elif kind == "out_of_range":
        _emission(folder, rng.choice(["0.00001", "5"]))  # 0.1 and 50000 kg per MWh
    else:
        _emission(folder, "0.0436529", kwh=rng.choice(["0", "-0.1", "nan"]))


def _ing_emission_fifo(rng, folder, canary):
    (folder / "emission.csv").unlink(missing_ok=True)
    os.mkfifo(folder / "emission.csv")


def _ing_emission_binary(rng, folder, canary):
    _put(folder / "emission.csv", rng.choice([b"\x00\xff\xfe", b"a,b\n\x00,1\n", b"\xff" * 100]))


def _ing_big_image(rng, folder, canary):
    from PIL import Image

    (folder / "images" / "2.png").unlink(missing_ok=True)
    Image.new("RGB", (rng.choice([4200, 5000]), 4100), "white").save(folder / "images" / "2.png", compress_level=1)


def _hostile_images():
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers import hostile_images

    return hostile_images


def _ing_postscript_image(rng, folder, canary):
    images = _hostile_images()
    _put(folder / "images" / rng.choice(["2.png", "3.png"]), rng.choice([images.POSTSCRIPT, images.DOS_EPS]))


def _ing_slow_jpeg(rng, folder, canary):
    """A progressive JPEG with thousands of scans saved under the PNG name the predictions use."""
    _put(folder / "images" / "3.png", _hostile_images().many_scan_jpeg(256, rng.choice([500, 3000])))


def _ing_long_answer(rng, folder, canary):
    data = _editable_predictions(folder)
    if data is None:
        return
    data["0"] = text("кот " * rng.choice([10_000, 300_000]))
    _put(folder / "predictions.json", json.dumps(data, ensure_ascii=False))


def _ing_folder_is_file(rng, folder, canary):
    for path in sorted(folder.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink()
    folder.rmdir()
    folder.write_text("not a folder", encoding="utf-8")


def _ing_missing_folder(rng, folder, canary):
    _ing_folder_is_file(rng, folder, canary)
    folder.unlink()


def make_team(rng: random.Random, folder: Path, canary: Path, count: int | None = None) -> list[str]:
    """A team folder with good predictions and 0-3 random ingredients applied; returns their names."""
    folder.mkdir(parents=True)
    (folder / "predictions.json").write_text(json.dumps(_good_predictions(folder)), encoding="utf-8")
    names = rng.sample(ingredient_names(), rng.randint(0, 3) if count is None else count)
    applied = []
    for name in names:
        if not folder.is_dir():
            break
        globals()[f"_ing_{name}"](rng, folder, canary)
        applied.append(name)
    return applied


@contextlib.contextmanager
def recorded_opens():
    """(paths opened, processes started) while inside (an audit hook; hooks cannot be removed, so it
    stops recording after)."""
    opened: list[str] = []
    started: list[str] = []
    active = [True]

    def hook(event, args):
        if not active[0]:
            return
        if event == "open" and args and isinstance(args[0], (str, bytes)):
            opened.append(os.fsdecode(args[0]))
        elif event.startswith(PROCESS_EVENTS) and not (args and os.path.basename(os.fsdecode(args[0])) in ALLOWED_PROGRAMS):
            started.append(f"{event} {str(args)[:120]}")

    sys.addaudithook(hook)
    try:
        yield opened, started
    finally:
        active[0] = False


def console(encoding: str) -> io.TextIOWrapper:
    """A console stream that cannot encode everything (strict errors, like a real cp1251 terminal)."""
    return io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors="strict")


def allowed(path: str, roots: list[str]) -> bool:
    """Inside a team folder or the set, or a Python/site-packages file (imports, fonts), or the
    editable install's import hook (an audit "open" of a name, not of a file)."""
    if path.startswith("__editable__.") and os.sep not in path:
        return True
    real = os.path.realpath(path)
    library = [os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, str(ROOT / "evaluator"),
                                             str(ROOT / "solution"), str(ROOT / "fbc2_io"))]
    return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots + library) or \
        real.startswith(tempfile.gettempdir()) and ".evaluator-" in os.path.basename(real) or real == os.devnull


def run_round(seed: int, workdir: Path, teams: int = 4) -> dict:
    """One fuzz round; raises AssertionError with the seed on a violation. Returns what was applied."""
    from evaluator.cli import main

    rng = random.Random(seed)
    root = workdir / f"round{seed}"
    root.mkdir()
    write_set(root)
    canary = root / "outside" / "canary.txt"
    canary.parent.mkdir()
    canary.write_text(CANARY_TEXT, encoding="utf-8")
    folders = [root / "teams" / f"t{i}" for i in range(teams)]
    applied = {str(f): make_team(rng, f, canary) for f in folders}
    out = root / "out"
    outputs = {"--csv": out / "board.csv", "--json": out / "board.json", "--markdown": out / "board.md",
               "--html": out / "board.html"}
    args = ["leaderboard", "--ground-truth", str(root / "gt" / "ground_truth.json"),
            "--task-ids", str(root / "gt" / "sample_ids.json"), "--quiet", *map(str, folders)]
    for flag, path in outputs.items():
        args += [flag, str(path)]
    encoding = rng.choice(CONSOLE_ENCODINGS)
    stdout, stderr = console(encoding), console(encoding)
    with recorded_opens() as (opened, started), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(args)
    stderr.flush()
    where = f"seed {seed}, console {encoding}, ingredients {applied}"
    assert code == 0, f"{where}: exit {code}: {stderr.buffer.getvalue()[-500:]!r}"
    assert not started, f"{where}: started a process: {started[:3]}"
    roots = [str(root / "gt"), str(out)] + [os.path.realpath(f) for f in folders if f.is_dir()]
    outside = [p for p in opened if not allowed(p, roots)]
    assert not outside, f"{where}: opened outside the team folders: {outside[:5]}"
    assert os.path.realpath(canary) not in {os.path.realpath(p) for p in opened}, f"{where}: read the canary"
    for flag, path in outputs.items():
        assert path.is_file(), f"{where}: {flag} not written"
        assert CANARY_TEXT not in path.read_text(encoding="utf-8"), f"{where}: canary content in {flag}"
    board = json.loads(outputs["--json"].read_text(encoding="utf-8"))
    assert {"entries", "sustainable_winner"} <= set(board), where
    entries = board["entries"]
    assert len(entries) == teams, f"{where}: {len(entries)} entries"
    ranks = [e["rank"] for e in entries]
    ranked = [r for r in ranks if r is not None]
    # competition ranking: 1, 2, 2, 4 (teams with the same integral share a rank); ranked teams first
    expected = [next(i for i, r in enumerate(ranked, 1) if r == rank) for rank in ranked]
    assert ranked == expected and ranks[:len(ranked)] == ranked, f"{where}: ranks {ranks}"
    for e in entries:
        assert {"team", "rank", "error", "co2_kg"} <= set(e), where
        assert (e["rank"] is None) == (e["error"] is not None), f"{where}: {e['team']!r} rank/error"
        assert not (e["error"] or "").startswith("evaluator error"), f"{where}: an evaluator bug: {e['error']}"
        assert e["co2_kg"] is None or e["co2_kg"] > 0, where
        if e["co2_kg"] is not None:
            assert_consistent_co2(Path(e.get("path") or e["directory"]), where)
    assert len({e["team"] for e in entries}) == teams, f"{where}: team names not told apart"
    assert_look_alikes_flagged(entries, where)
    for row in csv.reader(io.StringIO(outputs["--csv"].read_text(encoding="utf-8"))):
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), f"{where}: CSV cell {cell[:40]!r}"
    return applied


def assert_consistent_co2(folder: Path, where: str) -> None:
    """A CO2 value the leaderboard kept comes from a TargetValue row that co2_rows accepts."""
    from evaluator.co2_rows import judge_row

    reader = csv.DictReader(io.StringIO((folder / "emission.csv").read_text(encoding="utf-8")))
    rows = [row for row in reader if "TargetValue" in (row.get("experiment_description") or "")]
    value, problem, _ = judge_row(reader.fieldnames, rows[-1] if rows else None)
    assert problem is None and value is not None and value > 0, f"{where}: CO2 kept from {folder}: {problem}"


def assert_look_alikes_flagged(entries: list[dict], where: str) -> None:
    """Teams whose names differ as text but not after normalisation are flagged as look-alikes."""
    from evaluator.names import name_key

    by_key: dict[str, set[str]] = {}
    for e in entries:
        by_key.setdefault(name_key(e["name"]), set()).add(e["name"])
    for e in entries:
        if len(by_key[name_key(e["name"])]) > 1:
            assert e.get("look_alike"), f"{where}: {e['name']!r} looks like another team's name but is not flagged"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20, help="rounds (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="first seed; round i uses seed + i (default 0)")
    parser.add_argument("--teams", type=int, default=4, help="team folders per round (default 4)")
    args = parser.parse_args(argv)
    seen: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="fuzz-teams-") as tmp:
        for i in range(args.rounds):
            applied = run_round(args.seed + i, Path(tmp), args.teams)
            seen.update(name for names in applied.values() for name in names)
            print(f"round {i + 1}/{args.rounds} (seed {args.seed + i}): ok", file=sys.stderr)
    print(f"{args.rounds} rounds passed; ingredients exercised: {len(seen)}/{len(ingredient_names())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
