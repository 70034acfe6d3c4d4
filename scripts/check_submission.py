#!/usr/bin/env python3
"""Check a submission ZIP the way the FBC2 platform runs it, without Docker.

Unpacks the ZIP into T/solution/, copies an input set to T/input/, runs the entrypoint of the
archive's metadata.json inside T/solution/ with the network cut (`unshare -n`) and a timeout, then
validates T/solution/output/ against the contract: predictions.json is a well-formed JSON object
holding every input id; each value is a non-empty list of {"type": "text"|"image", "content": str};
every image is a file inside output/ (no absolute or `..` paths) that the project's image loader
(fbc2_io.images) decodes; emission.csv, with a CO2_emissions(kg) row, unless the entrypoint turns
eco2AI off (--no-eco2ai).

As the platform: the entrypoint's `python3` is a throw-away virtual environment that sees the
packages of the caller's environment (standing in for the image's) and the archive, never this
checkout (its editable install, PYTHONPATH and the user site are left out); an archive that ships
output/ is refused (the run must write it). It also checks that every import of the archive's own
packages resolves inside the archive, and notes the commands the run needs that an image may lack
(`top` for eco2AI). Prints PASS or FAIL with the reasons; exit 0 or 1 (2 when the checker itself
cannot work: an unusable --input folder, a full disk).

SECURITY: the entrypoint is the archive's own code and runs WITH YOUR USER'S RIGHTS (no container,
only the network is cut): it can read and write everything you can. Check archives you did not
build yourself inside a throw-away container or VM. Every other failure (a damaged, encrypted or
hostile archive, unusable metadata, broken outputs) is a FAIL line with its reason, never a traceback.

  python scripts/check_submission.py dist/submission.zip
  python scripts/check_submission.py dist/submission.zip --input my_set/ --timeout 600 --keep
"""

from __future__ import annotations

import argparse
import ast
import csv
import io
import json
import os
import shlex
import shutil
import signal
import site
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path, PurePosixPath

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_submission  # noqa: E402  (the size limit lives there)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fbc2_io import files as safe_files  # noqa: E402  (regular files only, inside their folder, never blocking)
from fbc2_io.console import make_console_safe  # noqa: E402
from fbc2_io.errors import NOT_FOUND, UnusableFile  # noqa: E402
from fbc2_io.images import open_image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PLATFORM_TIMEOUT = 5 * 3600
MAX_LISTED = 10  # problems of one kind printed before "... and N more"
MAX_PREDICTIONS_BYTES = 1 << 30  # predictions.json and input.json are read whole; more is not a submission
MAX_IMAGE_BYTES = 64 << 20
SUPPORTED_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
MAX_EMISSION_BYTES = 16 << 20
CO2_COLUMN = "CO2_emissions(kg)"
ECO2AI_OFF = "--no-eco2ai"
# Commands that eco2AI runs and a minimal image may lack (procps, util-linux), with what their absence does.
ECO2AI_COMMANDS = {"top": "without it eco2AI fails at every measurement and writes no emission.csv",
                   "lscpu": "without it eco2AI counts one CPU socket"}
CLEARED_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "PYTHONSAFEPATH", "VIRTUAL_ENV")


class CheckerError(Exception):
    """The check itself cannot run (an unusable --input folder): one line, exit status 2."""


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


def parse_json(data: bytes, what: str, problems: Problems):
    """The JSON value in `data`, or None with the reason added to `problems` (bad UTF-8, bad syntax,
    nesting too deep, a number too long to convert)."""
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        problems.add(f"{what} is not UTF-8 ({e.reason} at byte {e.start})")
    except json.JSONDecodeError as e:
        problems.add(f"{what} is not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})")
    except RecursionError:
        problems.add(f"{what} is not usable JSON (nested too deeply)")
    except ValueError as e:  # an integer over Python's digit limit
        problems.add(f"{what} is not usable JSON ({str(e)[:100]})")
    return None


def zip_problem(zip_path: Path) -> str | None:
    """Why `zip_path` cannot be opened as an archive at all (missing, a folder, a FIFO, not a ZIP)."""
    if not zip_path.exists() and not zip_path.is_symlink():
        return f"{zip_path} not found"
    if zip_path.is_dir():
        return f"{zip_path} is a folder, not a ZIP archive"
    if not zip_path.is_file():
        return f"{zip_path} is not a regular file (a FIFO, socket, device or broken link)"
    try:
        if not zipfile.is_zipfile(zip_path):
            return f"{zip_path} is not a ZIP archive"
    except OSError as e:
        return f"cannot read {zip_path}: {e.strerror or e}"
    return None


def _is_symlink_entry(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def duplicate_names(names: list[str]) -> list[str]:
    """The names stored more than once, sorted; linear in the number of entries."""
    return sorted(name for name, count in Counter(names).items() if count > 1)


def ships_output(name: str) -> bool:
    return PurePosixPath(name).parts[:1] == ("output",)


def read_archive(zip_path: Path, problems: Problems) -> dict | None:
    """metadata.json of a ZIP that is safe to unpack and within the limits, or None."""
    reason = zip_problem(zip_path)
    if reason:
        problems.add(reason)
        return None
    limit = make_submission.LIMIT_BYTES
    try:
        with zipfile.ZipFile(zip_path) as zf:
            infos = zf.infolist()
            names = [i.filename for i in infos]
            for info in infos:
                if unsafe_name(info.filename):
                    problems.add("unsafe path in the archive", info.filename)
                if info.flag_bits & 0x1:
                    problems.add("encrypted entry (the platform cannot unpack it)", info.filename)
                if _is_symlink_entry(info):
                    problems.add("symbolic link in the archive (unpacked as a link on the platform)", info.filename)
                if info.compress_type not in SUPPORTED_COMPRESSION:
                    problems.add("entry with an unsupported compression method", f"{info.filename} ({info.compress_type})")
                if ships_output(info.filename):
                    problems.add("output/ shipped in the archive (the run must write it; the platform would read "
                                 "these files if it wrote nothing)", info.filename)
            for name in duplicate_names(names):
                problems.add("name stored twice in the archive", name)
            unpacked = sum(i.file_size for i in infos)
            if unpacked > limit:
                problems.add(f"the archive unpacks to {make_submission.gb(unpacked)}, over the {make_submission.gb(limit)} limit")
            if zip_path.stat().st_size > limit:
                problems.add(f"the archive is {make_submission.gb(zip_path.stat().st_size)}, over the "
                             f"{make_submission.gb(limit)} limit")
            if "metadata.json" not in names:
                problems.add("no metadata.json at the archive root")
                return None
            if problems:
                return None
            meta = parse_json(zf.read("metadata.json"), "metadata.json", problems)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError, OSError) as e:
        problems.add(f"the archive is damaged or unreadable ({type(e).__name__}: {e})")
        return None
    if meta is None:
        return None
    if not isinstance(meta, dict):
        problems.add("metadata.json is not a JSON object")
        return None
    for key in ("image", "entrypoint"):
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            problems.add(f"metadata.json: '{key}' must be a non-empty string")
    if isinstance(meta.get("entrypoint"), str):
        try:
            if not shlex.split(meta["entrypoint"]):
                problems.add("metadata.json: 'entrypoint' holds no command")
        except ValueError as e:
            problems.add(f"metadata.json: 'entrypoint' cannot be split into a command ({e})")
    return None if problems else meta


def unpack(zip_path: Path, solution: Path, problems: Problems) -> bool:
    """Extract every entry (CRCs checked); False with the reason on a damaged entry or a full disk."""
    try:
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(solution)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, OSError) as e:
        problems.add(f"the archive cannot be unpacked ({type(e).__name__}: {e})")
        return False
    return True


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


def _pth_lines_kept(pth: Path) -> list[str]:
    """The lines of a .pth file of the caller's environment that do not bring this checkout in."""
    kept = []
    for line in pth.read_text(encoding="utf-8", errors="replace").splitlines():
        folder = Path(line.strip())
        if not line.startswith(("import ", "import\t")) and line.strip() and (
                (folder / "solution" / "__init__.py").is_file() or folder.resolve() == ROOT):
            continue  # an old-style editable install of this project
        kept.append(line)
    return kept


def platform_python(folder: Path) -> Path:
    """A virtual environment in ``folder`` whose python sees the caller's installed packages (the
    image's stand-in) but not this checkout: the site-packages folders are added by a .pth file,
    and the caller's .pth files are copied except editable installs (which would supply the
    project's packages from this checkout). Returns its bin/ folder."""
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, capture_output=True)
        target = Path(subprocess.run([str(folder / "bin" / "python3"), "-c", "import sysconfig; "
                                      "print(sysconfig.get_paths()['purelib'])"], check=True, capture_output=True,
                                     text=True).stdout.strip())
    except subprocess.CalledProcessError as e:
        detail = (e.stderr or b"").decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit {e.returncode}"]
        raise CheckerError(f"cannot create the platform's python in {folder}: {detail[0]}") from None
    packages = [Path(p) for p in site.getsitepackages() if Path(p).is_dir()]
    (target / "00-fbc2-image-packages.pth").write_text("".join(f"{p}\n" for p in packages), encoding="utf-8")
    for folder_of_packages in packages:
        for pth in sorted(folder_of_packages.glob("*.pth")):
            if not pth.name.startswith("__editable__"):
                (target / pth.name).write_text("\n".join(_pth_lines_kept(pth)) + "\n", encoding="utf-8")
    return folder / "bin"


def run_entrypoint(command: list[str], cwd: Path, timeout: float, bin_dir: Path) -> tuple[int | None, float]:
    """(exit code, seconds); None as the code when the timeout killed it. ``bin_dir`` (the platform
    python's) comes first on PATH; nothing of this checkout is importable."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
    env["PATH"] = str(bin_dir) + os.pathsep + env.get("PATH", "")
    env["PYTHONNOUSERSITE"] = "1"
    t0 = time.monotonic()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, start_new_session=True)  # may raise OSError
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        code = None
    return code, time.monotonic() - t0


# -- the output --------------------------------------------------------------------------------
def check_image(output: Path, content: str, where: str, problems: Problems) -> bool:
    unusable = safe_files.path_problem(content)
    if unusable:
        problems.add("image path that is not a usable path", f"{where}: {unusable}")
        return False
    path = PurePosixPath(content)
    if path.is_absolute() or ".." in path.parts or "\\" in content:
        problems.add("image path that is absolute, empty or leaves output/", f"{where}: {content!r}")
        return False
    try:
        file = safe_files.resolve_inside(output, content)
    except UnusableFile:
        problems.add("image path that leaves output/ through a link", f"{where}: {content!r}")
        return False
    try:
        data = safe_files.read_bytes(file, root=output, max_bytes=MAX_IMAGE_BYTES)
    except UnusableFile as e:
        missing = e.reason == NOT_FOUND
        problems.add("image file missing" if missing else "image file unusable",
                     f"{where}: {content}" + ("" if missing else f" ({e.reason})"))
        return False
    try:
        open_image(io.BytesIO(data), deadline=time.monotonic() + 30).close()
    except UnusableFile as e:
        problems.add("image the image loader cannot decode", f"{where}: {content} ({e.reason})")
        return False
    return True


def validate_output(output: Path, ids: list[str], problems: Problems) -> dict:
    """Check output/predictions.json against the input ids; returns counts for the verdict."""
    counts = {"samples": len(ids), "texts": 0, "images": 0, "no_text": 0, "extra": 0}
    try:
        data = safe_files.read_bytes(output / "predictions.json", root=output.parent, max_bytes=MAX_PREDICTIONS_BYTES)
    except UnusableFile as e:
        problems.add("no output/predictions.json" if e.reason == NOT_FOUND else f"output/predictions.json: {e.reason}")
        return counts
    preds = parse_json(data, "predictions.json", problems)
    if preds is None:
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


def eco2ai_on(command: list[str]) -> bool:
    """Whether the entrypoint leaves eco2AI on (run.py tracks unless --no-eco2ai)."""
    return ECO2AI_OFF not in command


def check_emissions(output: Path, problems: Problems) -> None:
    """output/emission.csv: a regular file inside output/ with a CO2_emissions(kg) column and a row."""
    try:
        text = safe_files.read_text(output / "emission.csv", root=output.parent, max_bytes=MAX_EMISSION_BYTES)
    except UnusableFile as e:
        problems.add("no output/emission.csv after the run (eco2AI is on in the entrypoint; the sustainability "
                     "category reads this file)" if e.reason == NOT_FOUND else f"output/emission.csv: {e.reason}")
        return
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as e:
        problems.add(f"output/emission.csv is not CSV ({e})")
        return
    if not rows or CO2_COLUMN not in rows[0] or len(rows) < 2:
        problems.add(f"output/emission.csv has no {CO2_COLUMN} row")


def command_notes(command: list[str]) -> list[str]:
    """The commands the run needs that the image may lack (eco2AI's), and whether this machine has them."""
    if not eco2ai_on(command):
        return []
    return [f"note: eco2AI runs `{name}` ({'present here' if shutil.which(name) else 'MISSING here too'}): "
            f"{consequence}; make sure the image has it" for name, consequence in ECO2AI_COMMANDS.items()]


# -- all ---------------------------------------------------------------------------------------
def read_input_ids(input_dir: Path) -> list[str]:
    """The sample ids of input_dir/input.json; CheckerError with one line when it is unusable."""
    problems = Problems()
    try:
        data = safe_files.read_bytes(input_dir / "input.json", max_bytes=MAX_PREDICTIONS_BYTES, what="input file")
    except UnusableFile as e:
        raise CheckerError(str(e)) from None
    inputs = parse_json(data, "input.json", problems)
    if inputs is None or not isinstance(inputs, dict):
        reason = problems.lines()[0] if problems else "input.json is not a JSON object keyed by sample id"
        raise CheckerError(f"{input_dir}: {reason}")
    return list(inputs)


def check(zip_path: Path, input_dir: Path, timeout: float, keep: bool = False) -> bool:
    problems = Problems()
    if not input_dir.is_dir():
        raise CheckerError(f"--input {input_dir}: " + ("is a file, not a folder" if input_dir.exists()
                                                                       else "not found"))
    ids = read_input_ids(input_dir)
    meta = read_archive(zip_path, problems)
    tmp = Path(tempfile.mkdtemp(prefix="fbc2-check-"))
    notes = []
    try:
        solution = tmp / "solution"
        if meta is not None and unpack(zip_path, solution, problems):
            shutil.copytree(input_dir, tmp / "input", symlinks=True)
            import_problems(solution, problems)
            command = shlex.split(meta["entrypoint"])
            prefix = network_cut()
            print(f"check_submission: running {meta['entrypoint']!r} in {solution} with your user's rights"
                  + (f" under `{' '.join(prefix)}`" if prefix else " WITH network"), file=sys.stderr, flush=True)
            try:
                bin_dir = platform_python(tmp / "python")
                code, seconds = run_entrypoint([*prefix, *command], solution, timeout, bin_dir)
            except OSError as e:
                problems.add(f"the entrypoint {command[0]!r} cannot be started ({e.strerror or e})")
                code = seconds = None
            if seconds is not None:
                if code is None:
                    problems.add(f"the entrypoint ran past the timeout of {timeout:g} s and was killed")
                elif code != 0:
                    problems.add(f"the entrypoint exited with code {code} (the platform voids such an attempt)")
                notes.append(f"entrypoint {'killed' if code is None else f'exit {code}'} after {seconds:.1f} s, "
                             + (f"network cut by `{' '.join(prefix)}`" if prefix else "network NOT cut"))
                counts = validate_output(solution / "output", ids, problems)
                if eco2ai_on(command):
                    check_emissions(solution / "output", problems)
                notes.extend(command_notes(command))
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
    make_console_safe()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("zip", type=Path, help="the submission ZIP (scripts/make_submission.py)")
    p.add_argument("--input", type=Path, default=ROOT / "sample_input",
                   help="input folder with input.json and images/ (default: sample_input/)")
    p.add_argument("--timeout", type=float, default=PLATFORM_TIMEOUT,
                   help=f"seconds the entrypoint may run (default {PLATFORM_TIMEOUT}, the platform's 5 h)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder and print its path")
    args = p.parse_args(argv)
    try:
        return 0 if check(args.zip, args.input, args.timeout, args.keep) else 1
    except CheckerError as e:
        print(f"check_submission: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the checker's own temporary folder or copy failed (disk full, permissions)
        print(f"check_submission: error: {e.strerror or e}{f': {e.filename}' if e.filename else ''}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
