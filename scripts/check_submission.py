#!/usr/bin/env python3
"""Check a submission ZIP the way the FBC2 platform runs it, without Docker.

Unpacks the ZIP into T/solution/, copies an input set to T/input/, runs the entrypoint of the
archive's metadata.json inside T/solution/ with the network cut (`unshare -n`), a timeout and the
caller's python (its folder comes first on PATH, so `python3` is this venv's), then validates
T/solution/output/ against the contract: predictions.json is a well-formed JSON object holding
every input id; each value is a non-empty list of {"type": "text"|"image", "content": str}; every
image is a file inside output/ (no absolute or `..` paths) that Pillow can read. It also checks that
every import of the archive's own packages resolves inside the archive, since an installed copy of
the package could otherwise hide a missing file. Prints PASS or FAIL with the reasons; exit 0 or 1.

  python scripts/check_submission.py dist/submission.zip
  python scripts/check_submission.py dist/submission.zip --input my_set/ --timeout 600 --keep
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path, PurePosixPath

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_submission  # noqa: E402  (the size limit lives there)

ROOT = Path(__file__).resolve().parents[1]
PLATFORM_TIMEOUT = 5 * 3600
MAX_LISTED = 10  # problems of one kind printed before "... and N more"


class Problems:
    """Failure reasons, grouped by kind so that a thousand bad samples read as one line each kind."""

    def __init__(self):
        self.kinds: dict[str, list[str]] = {}

    def add(self, kind: str, detail: str = "") -> None:
        self.kinds.setdefault(kind, []).append(detail)

    def __bool__(self) -> bool:
        return bool(self.kinds)

    def lines(self) -> list[str]:
        out = []
        for kind, details in self.kinds.items():
            shown = [d for d in details if d][:MAX_LISTED]
            more = len(details) - len(shown) if shown else 0
            text = kind if not shown else f"{kind} ({len(details)}): " + "; ".join(shown)
            out.append(text + (f"; ... and {more} more" if more else ""))
        return out


# -- the archive -------------------------------------------------------------------------------
def unsafe_name(name: str) -> bool:
    path = PurePosixPath(name)
    return name.startswith(("/", "\\")) or ".." in path.parts or "\\" in name or (len(name) > 1 and name[1] == ":")


def read_archive(zip_path: Path, problems: Problems) -> dict | None:
    """metadata.json of a ZIP that is safe to unpack and within the limits, or None."""
    if not zipfile.is_zipfile(zip_path):
        problems.add(f"{zip_path} is not a ZIP archive")
        return None
    limit = make_submission.LIMIT_BYTES
    with zipfile.ZipFile(zip_path) as zf:
        infos = zf.infolist()
        for info in infos:
            if unsafe_name(info.filename):
                problems.add("unsafe path in the archive", info.filename)
        unpacked = sum(i.file_size for i in infos)
        if unpacked > limit:
            problems.add(f"the archive unpacks to {make_submission.gb(unpacked)}, over the {make_submission.gb(limit)} limit")
        if zip_path.stat().st_size > limit:
            problems.add(f"the archive is {make_submission.gb(zip_path.stat().st_size)}, over the "
                         f"{make_submission.gb(limit)} limit")
        if "metadata.json" not in zf.namelist():
            problems.add("no metadata.json at the archive root")
            return None
        try:
            meta = json.loads(zf.read("metadata.json").decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            problems.add(f"metadata.json is not valid JSON ({e})")
            return None
    if not isinstance(meta, dict):
        problems.add("metadata.json is not a JSON object")
        return None
    for key in ("image", "entrypoint"):
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            problems.add(f"metadata.json: '{key}' must be a non-empty string")
    return None if problems else meta


def _module_exists(root: Path, parts: list[str]) -> bool:
    path = root.joinpath(*parts)
    return path.with_suffix(".py").is_file() or path.is_dir()


def import_problems(root: Path, problems: Problems) -> None:
    """Every import of a package or module that the archive itself holds must resolve inside it."""
    local = {p.name for p in root.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    local |= {p.stem for p in root.glob("*.py")}
    for py in sorted(root.rglob("*.py")):
        rel = py.relative_to(root)
        try:
            tree = ast.parse(py.read_bytes(), filename=str(rel))
        except (SyntaxError, ValueError) as e:
            problems.add("Python file that does not parse", f"{rel}: {e}")
            continue
        package = list(rel.parent.parts)
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name.split(".") for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level:
                base = package[:len(package) - node.level + 1] if node.level - 1 <= len(package) else None
                if base is None:
                    problems.add("relative import beyond the archive root", f"{rel}:{node.lineno}")
                    continue
                targets = [base + (node.module.split(".") if node.module else [])]
            elif isinstance(node, ast.ImportFrom):
                targets = [node.module.split(".")]
            for parts in targets:
                if parts and parts[0] in local and not _module_exists(root, parts):
                    problems.add("import of a module missing from the archive", f"{rel}:{node.lineno} {'.'.join(parts)}")


# -- running -----------------------------------------------------------------------------------
def network_cut() -> list[str]:
    """A command prefix that runs its command without network, or [] with a printed warning."""
    if shutil.which("unshare"):
        for prefix in (["unshare", "-n"], ["unshare", "-r", "-n"]):  # as root; as a user, in a user namespace
            if subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
                return prefix
    print("check_submission: WARNING: cannot cut the network (`unshare -n` is missing or not permitted here); "
          "the entrypoint runs WITH network access, unlike on the platform", file=sys.stderr)
    return []


def run_entrypoint(command: list[str], cwd: Path, timeout: float) -> tuple[int | None, float]:
    """(exit code, seconds); None as the code when the timeout killed it."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.pop("PYTHONPATH", None)  # the archive must stand on its own
    t0 = time.monotonic()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        code = None
    return code, time.monotonic() - t0


# -- the output --------------------------------------------------------------------------------
def check_image(output: Path, content: str, where: str, problems: Problems) -> bool:
    path = PurePosixPath(content)
    if not content or path.is_absolute() or ".." in path.parts or "\\" in content:
        problems.add("image path that is absolute, empty or leaves output/", f"{where}: {content!r}")
        return False
    file = (output / content).resolve()
    if not file.is_relative_to(output.resolve()):
        problems.add("image path that leaves output/ through a link", f"{where}: {content!r}")
        return False
    if not file.is_file():
        problems.add("image file missing", f"{where}: {content}")
        return False
    try:
        with Image.open(file) as im:
            im.load()
    except Exception as e:
        problems.add("image Pillow cannot read", f"{where}: {content} ({type(e).__name__})")
        return False
    return True


def validate_output(output: Path, input_json: Path, problems: Problems) -> dict:
    """Check output/predictions.json against the ids of input.json; returns counts for the verdict."""
    ids = list(json.loads(input_json.read_text(encoding="utf-8")))
    counts = {"samples": len(ids), "texts": 0, "images": 0, "no_text": 0, "extra": 0}
    pred_path = output / "predictions.json"
    if not pred_path.is_file():
        problems.add("no output/predictions.json")
        return counts
    try:
        preds = json.loads(pred_path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        problems.add(f"predictions.json is not UTF-8 ({e})")
        return counts
    except json.JSONDecodeError as e:
        problems.add(f"predictions.json is not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})")
        return counts
    if not isinstance(preds, dict):
        problems.add(f"predictions.json holds a JSON {type(preds).__name__}, not an object keyed by sample id")
        return counts
    for sample_id in ids:
        if sample_id not in preds:
            problems.add("input id missing from predictions.json", repr(sample_id))
            continue
        items = preds[sample_id]
        if not isinstance(items, list) or not items:
            problems.add("value that is not a non-empty list of items", repr(sample_id))
            continue
        has_text = False
        for n, item in enumerate(items):
            where = f"{sample_id!r}[{n}]"
            if not isinstance(item, dict) or item.get("type") not in ("text", "image"):
                problems.add('item that is not {"type": "text"|"image", ...}', where)
            elif not isinstance(item.get("content"), str):
                problems.add("item whose content is not a string", where)
            elif item["type"] == "text":
                has_text = True
                counts["texts"] += 1
            elif check_image(output, item["content"], where, problems):
                counts["images"] += 1
        counts["no_text"] += not has_text
    counts["extra"] = len(set(preds) - set(ids))
    return counts


# -- all ---------------------------------------------------------------------------------------
def check(zip_path: Path, input_dir: Path, timeout: float, keep: bool = False) -> bool:
    problems = Problems()
    if not (input_dir / "input.json").is_file():
        raise SystemExit(f"check_submission: no input.json in {input_dir}")
    meta = read_archive(zip_path, problems)
    tmp = Path(tempfile.mkdtemp(prefix="fbc2-check-"))
    notes = []
    try:
        if meta is not None:
            solution = tmp / "solution"
            with zipfile.ZipFile(zip_path) as zf:
                zf.extractall(solution)
            shutil.copytree(input_dir, tmp / "input")
            import_problems(solution, problems)
            command = shlex.split(meta["entrypoint"])
            prefix = network_cut()
            print(f"check_submission: running {meta['entrypoint']!r} in {solution}"
                  + (f" under `{' '.join(prefix)}`" if prefix else " WITH network"), file=sys.stderr, flush=True)
            code, seconds = run_entrypoint([*prefix, *command], solution, timeout)
            if code is None:
                problems.add(f"the entrypoint ran past the timeout of {timeout:g} s and was killed")
            elif code != 0:
                problems.add(f"the entrypoint exited with code {code} (the platform voids such an attempt)")
            notes.append(f"entrypoint {'killed' if code is None else f'exit {code}'} after {seconds:.1f} s, "
                         + (f"network cut by `{' '.join(prefix)}`" if prefix else "network NOT cut"))
            counts = validate_output(solution / "output", tmp / "input" / "input.json", problems)
            notes.append(f"{counts['samples']} input ids, {counts['texts']} text and {counts['images']} image items")
            if counts["no_text"]:
                notes.append(f"warning: {counts['no_text']} samples have no text item (they score 0 on text tasks)")
            if counts["extra"]:
                notes.append(f"warning: {counts['extra']} ids in predictions.json are not in input.json")
    finally:
        if keep:
            notes.append(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    verdict = "FAIL" if problems else "PASS"
    print(f"check_submission: {verdict}: {zip_path}")
    for line in problems.lines():
        print(f"  - {line}")
    for line in notes:
        print(f"  {line}")
    return not problems


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("zip", type=Path, help="the submission ZIP (scripts/make_submission.py)")
    p.add_argument("--input", type=Path, default=ROOT / "sample_input",
                   help="input folder with input.json and images/ (default: sample_input/)")
    p.add_argument("--timeout", type=float, default=PLATFORM_TIMEOUT,
                   help=f"seconds the entrypoint may run (default {PLATFORM_TIMEOUT}, the platform's 5 h)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder and print its path")
    args = p.parse_args(argv)
    return 0 if check(args.zip, args.input, args.timeout, args.keep) else 1


if __name__ == "__main__":
    sys.exit(main())
