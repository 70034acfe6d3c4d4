#!/usr/bin/env bash
# One install script for the README, CI and the Dockerfile.
#
#   bash scripts/install.sh                      # ./.venv with everything (CPU torch): run.py, training,
#                                                # the evaluator, the data generator, tests and lint
#   bash scripts/install.sh --system --runtime   # the Docker image: only what run.py needs, into the
#                                                # current python3, keeping its torch (the base image's CUDA build)
#
#   --system   install into the current python3 instead of ./.venv; an installed torch is kept
#   --runtime  only what run.py needs: requirements.txt, torch and eco2ai (no youtokentome, DeepSpeed,
#              evaluator, test tools or font; no editable install)
#
# Facts it handles (see README, "Dependencies"):
#   - torch==$TORCH_VERSION (default 2.13.0): the CPU build where pip has a local CPU wheel; from PyPI
#     alone it is the CUDA build (GBs of nvidia-* wheels); there, for the CPU build, run
#     PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu TORCH_VERSION=2.13.0+cpu bash scripts/install.sh
#     A torch that is already installed is kept, and checked to be the same version and CUDA build at the end.
#   - youtokentome 1.0.6 only builds with Cython<3 present and --no-build-isolation (and a C++
#     compiler). It trains BPEs and checks our pure-Python reader in the tests; run.py never imports
#     it, so --runtime (the Docker image) leaves it out. An importable youtokentome is kept.
#   - eco2ai 0.3.12 imports pkg_resources: it needs setuptools<81 and pandas<3.
#   - deepspeed installs with --no-build-isolation (it imports torch in its setup.py).
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
MODE=venv
RUNTIME=0
for arg in "$@"; do
  case "$arg" in
    --system) MODE=system ;;
    --runtime) RUNTIME=1 ;;
    *) echo "install.sh: unknown option $arg (use --system and/or --runtime)" >&2; exit 2 ;;
  esac
done
say() { echo "install.sh: $*"; }

# eco2AI measures the CPU with `top -b -n1 -p PID`; without it every measurement fails and run.py
# writes no output/emission.csv. The Dockerfile installs procps before this script runs.
if [ "$RUNTIME" = 1 ] && ! command -v top >/dev/null 2>&1; then
  echo "install.sh: warning: no 'top' on this machine (apt-get install procps): eco2AI cannot measure the CPU and run.py will write no output/emission.csv" >&2
fi

# The one system package: a font with Cyrillic glyphs for the synthetic text images (data generator,
# tests). run.py needs none.
if [ "$RUNTIME" = 0 ] && [ ! -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "apt-get install fonts-dejavu-core"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-dejavu-core >/dev/null
  else
    echo "install.sh: please install fonts-dejavu-core (needs root and apt-get), or set FBC2_FONT=/path/to/font.ttf" >&2
  fi
fi

if [ "$MODE" = venv ]; then
  if [ ! -x .venv/bin/python ]; then
    say "creating .venv"
    python3 -m venv .venv
  fi
  PY=.venv/bin/python
else
  PY=python3
fi
# -q: pip prints only warnings and errors; this script names each step.
export PIP_ROOT_USER_ACTION=ignore  # --system as root (the Docker build): no warning about root
PIP=("$PY" -m pip install -q --disable-pip-version-check --progress-bar off)
torch_build() { "$PY" -c "import torch; print(torch.__version__, 'CUDA', torch.version.cuda)" 2>/dev/null; }

say "pip, wheel, setuptools<81"
"${PIP[@]}" --upgrade "pip<26" wheel "setuptools<81"
TORCH_BEFORE="$(torch_build || true)"
if [ -n "$TORCH_BEFORE" ]; then
  say "keeping the installed torch $TORCH_BEFORE"
else
  say "torch==$TORCH_VERSION"
  "${PIP[@]}" "torch==${TORCH_VERSION}"
fi
say "requirements.txt, eco2ai 0.3.12"
"${PIP[@]}" -r requirements.txt "eco2ai==0.3.12" "pandas<3" "setuptools<81"
mods=(torch eco2ai PIL numpy pandas tqdm safetensors)
if [ "$RUNTIME" = 0 ]; then
  if "$PY" -c "import youtokentome" 2>/dev/null; then
    say "keeping the installed youtokentome"
  else
    say "youtokentome 1.0.6 (built from source: Cython<3, a C++ compiler)"
    "${PIP[@]}" "Cython<3"
    "${PIP[@]}" --no-build-isolation "youtokentome==1.0.6"
  fi
  say "requirements-dev.txt, deepspeed 0.19.8"
  "${PIP[@]}" -r requirements-dev.txt
  "${PIP[@]}" --no-build-isolation "deepspeed==0.19.8"
  mods+=(youtokentome deepspeed scipy nltk pycocoevalcap pymorphy3 pytest ruff)
fi
if [ "$MODE" = venv ]; then
  # Editable install for development. Not in --system mode (the Docker image): there run.py must
  # import only the code of the submission it belongs to, never an installed copy.
  say "this checkout, editable"
  "${PIP[@]}" -e . --no-deps --no-build-isolation
fi

TORCH_AFTER="$(torch_build)" || { echo "install.sh: error: torch does not import" >&2; exit 1; }
if [ -n "$TORCH_BEFORE" ] && [ "$TORCH_AFTER" != "$TORCH_BEFORE" ]; then
  echo "install.sh: error: torch changed during the install: $TORCH_BEFORE -> $TORCH_AFTER" >&2
  exit 1
fi
"$PY" -W ignore - "${mods[@]}" <<'PYEOF'
import importlib
import os
import sys

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("DS_ACCELERATOR", "cpu")  # else DeepSpeed warns that it found no GPU
for m in sys.argv[1:]:
    importlib.import_module(m)
print("install.sh: all modules import:", ", ".join(sys.argv[1:]))
PYEOF
say "done: torch $TORCH_AFTER"
