"""Helpers to run ``run.py`` in-process or as a subprocess, with a tiny random weights directory."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_run_module():
    spec = importlib.util.spec_from_file_location("fbc2_run", ROOT / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def make_tiny_weights(out: Path) -> Path:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "init_weights.py"), "--config", "tiny", "--out", str(out)],
                   check=True, capture_output=True, timeout=300)
    return out


def write_input(folder: Path, samples: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "input.json"
    path.write_text(json.dumps(samples, ensure_ascii=False), encoding="utf-8")
    return path


def read_predictions(output: Path) -> dict:
    return json.loads((output / "predictions.json").read_text(encoding="utf-8"))


def network_cut_available() -> bool:
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
