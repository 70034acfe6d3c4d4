#!/usr/bin/env bash
# One install script for the README, CI and the Dockerfile.
#
#   bash scripts/install.sh            # creates ./.venv and installs everything (CPU torch)
#   bash scripts/install.sh --system   # installs into the current python3 (Docker image; keeps
#                                      # an already installed torch, e.g. the CUDA build of the base image)
#
# Facts it handles (see README, "Dependencies"):
#   - torch==2.13.0 is the local CPU build here; a bare `torch` would pull GBs of CUDA wheels.
#   - youtokentome 1.0.6 only builds with Cython<3 present and --no-build-isolation.
#   - eco2ai 0.3.12 imports pkg_resources: it needs setuptools<81 and pandas<3.
#   - deepspeed installs with --no-build-isolation (it imports torch in its setup.py).
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
MODE=venv

# System packages: a font with Cyrillic glyphs (synthetic TRitW images) and Java (pycocoevalcap).
need=()
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
  else
    echo "install.sh: please install ${need[*]} (needs root and apt-get)" >&2
  fi
fi
[ "${1:-}" = "--system" ] && MODE=system

if [ "$MODE" = venv ]; then
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  PY=.venv/bin/python
else
  PY=python3
fi
PIP=("$PY" -m pip install --disable-pip-version-check --progress-bar off)

"${PIP[@]}" --upgrade "pip<26" wheel "setuptools<81" "Cython<3"
if "$PY" -c "import torch" 2>/dev/null; then
  echo "install.sh: keeping installed torch $("$PY" -c 'import torch; print(torch.__version__)')"
else
  "${PIP[@]}" "torch==${TORCH_VERSION}"
fi
"${PIP[@]}" --no-build-isolation "youtokentome==1.0.6"
"${PIP[@]}" -r requirements.txt
"${PIP[@]}" --no-build-isolation "deepspeed==0.19.8"
"${PIP[@]}" "eco2ai==0.3.12" "pandas<3" "setuptools<81"
if [ "$MODE" = venv ]; then
  # Editable install for development. Not in --system mode (the Docker image): there run.py must
  # import only the code of the submission it belongs to, never an installed copy.
  "${PIP[@]}" -e . --no-deps --no-build-isolation
fi
"$PY" - <<'PYEOF'
import importlib
mods = ["torch", "youtokentome", "deepspeed", "eco2ai", "pycocoevalcap", "nltk", "pymorphy3",
        "PIL", "numpy", "pandas", "scipy", "tqdm", "safetensors"]
for m in mods:
    importlib.import_module(m)
print("install.sh: all modules import:", ", ".join(mods))
PYEOF
