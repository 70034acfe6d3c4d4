#!/usr/bin/env python3
"""Build the FBC2 submission ZIP: metadata.json at the root and only what its entrypoint needs.

The archive holds metadata.json, run.py, the solution/ package and the shared I/O package fbc2_io/
(without caches) and one weights
directory stored as weights/demo, the folder run.py reads when no --weights is given; training/, the
generator synthetic_fbc2/ and the evaluator are other packages and stay out. The same inputs give a byte-identical ZIP: entries are
sorted and carry a fixed timestamp and fixed permissions. The platform's 15 GB limit (packed and
unpacked) is checked before and after writing.

  python scripts/make_submission.py --weights weights/demo --out dist/submission.zip
  python scripts/make_submission.py --weights /data/rudolph-2.7b-fbc2 --image registry.example/me/fbc2:1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fbc2_io.console import make_console_safe  # noqa: E402

LIMIT_BYTES = 15 * 1000**3  # the platform's "15 GB", read conservatively as decimal gigabytes
ARCHIVE_WEIGHTS = "weights/demo"  # run.py's DEFAULT_WEIGHTS, relative to run.py
CODE = ("run.py", "solution", "fbc2_io")
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a ZIP entry can hold
FILE_MODE = 0o644


class SubmissionError(Exception):
    pass


def gb(n: int) -> str:
    """Decimal units, as the limit is read."""
    return f"{n / 1000**3:.2f} GB" if n >= 1000**3 else f"{n / 1000**2:.1f} MB"


def _wanted(rel: Path) -> bool:
    """Not hidden, not a cache."""
    junk = any(part.startswith(".") or part == "__pycache__" for part in rel.parts)
    return not junk and not rel.name.endswith(EXCLUDED_SUFFIXES)


def collect_files(root: Path, weights: Path) -> dict[str, Path]:
    """Archive name -> file on disk, for everything but metadata.json. Symlinks are followed."""
    files: dict[str, Path] = {}
    for name in CODE:
        path = root / name
        if path.is_file():
            files[name] = path
            continue
        if not path.is_dir():
            raise SubmissionError(f"{path} is missing")
        for sub in path.rglob("*"):
            rel = sub.relative_to(root)
            if sub.is_file() and _wanted(rel):
                files[rel.as_posix()] = sub
    for sub in weights.rglob("*"):
        rel = sub.relative_to(weights)
        if sub.is_file() and _wanted(rel):
            files[f"{ARCHIVE_WEIGHTS}/{rel.as_posix()}"] = sub
    return files


def check_weights(weights: Path) -> None:
    if weights.is_file():
        raise SubmissionError(f"--weights {weights} is a file; pass the weights folder")
    if not weights.is_dir():
        raise SubmissionError(f"weights directory not found: {weights} (pass --weights DIR naming the trained "
                              "weights to submit; `bash scripts/train_demo.sh` restores the demo weights)")
    warnings.filterwarnings("ignore", message="The pynvml package is deprecated")
    from solution.weights import resolve_weights

    try:
        resolve_weights(weights)
    except Exception as e:  # WeightsError, a broken config (ValueError, KeyError, RecursionError), OSError ...
        raise SubmissionError(f"the weights directory is not usable by run.py: {e}") from None


def read_metadata(path: Path, image: str | None) -> bytes:
    try:
        meta = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise SubmissionError(f"{path} not found (it names the docker image and the entrypoint)") from None
    except OSError as e:
        raise SubmissionError(f"cannot read {path}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise SubmissionError(f"{path} is not UTF-8 ({e.reason} at byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise SubmissionError(f"{path} is not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    except (RecursionError, ValueError) as e:
        raise SubmissionError(f"{path} is not usable JSON ({'nested too deeply' if isinstance(e, RecursionError) else e})") from None
    if not isinstance(meta, dict):
        raise SubmissionError(f"{path} must hold a JSON object, found {type(meta).__name__}")
    if image:
        meta["image"] = image
    for key in ("image", "entrypoint"):
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            raise SubmissionError(f"{path}: '{key}' must be a non-empty string")
    return (json.dumps(meta, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _info(name: str, compress: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.create_system = 3  # Unix, so that external_attr carries the mode
    info.external_attr = (0o100000 | FILE_MODE) << 16
    info.compress_type = compress
    return info


def check_out(out: Path) -> None:
    if out.is_dir():
        raise SubmissionError(f"--out {out} is a folder; name the ZIP file to write")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise SubmissionError(f"--out {out}: {parent} is a file, not a folder")
            break


def write_zip(out: Path, metadata: bytes, files: dict[str, Path]) -> None:
    """Write atomically: a failed build leaves no half-written archive at ``out``."""
    check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", allowZip64=True) as zf:
            entries = sorted([("metadata.json", None), *files.items()])
            for name, src in entries:
                if src is None:
                    zf.writestr(_info(name, zipfile.ZIP_DEFLATED), metadata)
                    continue
                # Weights are close to incompressible: store them; deflate the code.
                is_weight = name.startswith(ARCHIVE_WEIGHTS + "/")
                info = _info(name, zipfile.ZIP_STORED if is_weight else zipfile.ZIP_DEFLATED)
                info.file_size = src.stat().st_size  # decides ZIP64 for big files up front
                with open(src, "rb") as f, zf.open(info, "w") as dst:
                    shutil.copyfileobj(f, dst, 1 << 20)
        packed = os.path.getsize(tmp)
        if packed > LIMIT_BYTES:
            raise SubmissionError(f"the archive is {gb(packed)} packed, over the platform's limit of "
                                  f"{gb(LIMIT_BYTES)} ({LIMIT_BYTES} bytes)")
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)


def build(weights: Path, out: Path, image: str | None = None, root: Path = ROOT) -> dict:
    check_out(out)
    check_weights(weights)
    metadata = read_metadata(root / "metadata.json", image)
    files = collect_files(root, weights)
    unpacked = len(metadata) + sum(p.stat().st_size for p in files.values())
    if unpacked > LIMIT_BYTES:
        largest = sorted(files.items(), key=lambda kv: -kv[1].stat().st_size)[:3]
        raise SubmissionError(
            f"the archive would unpack to {gb(unpacked)}, over the platform's limit of {gb(LIMIT_BYTES)} "
            f"({LIMIT_BYTES} bytes); largest files: "
            + ", ".join(f"{name} {gb(p.stat().st_size)}" for name, p in largest))
    write_zip(out, metadata, files)
    return {"files": len(files) + 1, "unpacked": unpacked, "packed": out.stat().st_size,
            "image": json.loads(metadata)["image"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path, default=ROOT / ARCHIVE_WEIGHTS,
                   help=f"weights directory to include, stored as {ARCHIVE_WEIGHTS} (default: {ARCHIVE_WEIGHTS})")
    p.add_argument("--out", type=Path, default=ROOT / "dist" / "submission.zip",
                   help="ZIP to write (default: dist/submission.zip)")
    p.add_argument("--image", default=None,
                   help="docker image to name in the archive's metadata.json (default: the one in metadata.json)")
    make_console_safe()
    args = p.parse_args(argv)
    try:
        summary = build(args.weights, args.out, args.image)
    except SubmissionError as e:
        print(f"make_submission: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # a file that vanished or cannot be read while packing, a full disk
        print(f"make_submission: {e.strerror or e}{f': {e.filename}' if e.filename else ''}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: {summary['files']} files, {gb(summary['unpacked'])} unpacked, "
          f"{gb(summary['packed'])} packed (limit {gb(LIMIT_BYTES)} each)")
    if args.image is None and "/" not in summary["image"]:
        print(f"note: the archive names the image {summary['image']!r} from metadata.json, a local tag that only "
              "this machine has; push the image to a registry and pass --image REGISTRY/NAME:TAG")
    return 0


if __name__ == "__main__":
    sys.exit(main())
