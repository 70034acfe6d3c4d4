"""Provenance of a JSON report: when, with which code and package versions, on which inputs."""

from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import os
import platform
import subprocess
import sys

PACKAGES = ("numpy", "Pillow", "torch", "pymorphy3", "nltk", "pycocoevalcap")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sha256_of(path: str | None) -> str | None:
    """Hex SHA-256 of a file's bytes; None when there is no such readable regular file."""
    if not path or not os.path.isfile(path):
        return None
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def git_commit() -> dict:
    """The evaluator's git commit and whether its tracked files differ from it (None outside git)."""
    def git(*args):
        try:
            done = subprocess.run(["git", "-C", REPO, *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def command_line(argv: list[str]) -> list[str]:
    """The command as its user typed it: ``python -m evaluator ...`` rather than ``__main__.py ...``."""
    program = os.path.basename(argv[0]) if argv else ""
    if program == "__main__.py":
        return ["python", "-m", "evaluator", *argv[1:]]
    return [program, *argv[1:]]


def provenance(inputs: dict[str, str | None]) -> dict:
    """{created_utc, evaluator {version, git commit}, python, platform, packages, command, inputs}.

    `inputs` maps a role (ground_truth, predictions, ...) to a file path; each is recorded with
    its SHA-256 (a folder, such as a team's, is recorded without one)."""
    return {
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "evaluator": {"version": _version("fbc2-rudolph"), **git_commit()},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in PACKAGES},
        "command": command_line(sys.argv),
        "inputs": {role: {"path": path, "sha256": sha256_of(path)} for role, path in inputs.items() if path},
    }
