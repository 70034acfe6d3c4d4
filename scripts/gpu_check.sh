#!/usr/bin/env bash
# One prepared command for a borrowed GPU machine (one H200: PyTorch 2.11, Python 3.12, no network,
# no eco2AI). At most 5 minutes in all (the step limits add up to 290 s); it stops at the first step
# that fails, so a missing module or a broken step costs seconds, not the machine.
#
#   bash scripts/gpu_check.sh                          # figures on stdout, a copy in $OUT/gpu_check.log
#   GPU_CHECK_REHEARSAL=1 bash scripts/gpu_check.sh    # the same steps on CPU at the tiny shapes, CUDA
#                                                      # graphs through the test suite's stand-in (a test)
#
# 0. the modules every step needs, and the versions;
# 1. pytest -k cuda (the CUDA tests of the decode step);
# 2. the 2.7B-FBC2 fp16 image and right-text steps at 1, 8 and 64 rows, eager static vs graph (CUDA
#    events), the attention kernel chosen and every kernel's time, the bandwidth achieved (weights + KV
#    bytes read per step / step time); baseline sampling at (64, 8192) under
#    torch.cuda.set_sync_debug_mode("warn"); one whole 64-row image batch and its peak memory; the
#    prefill of 64 x 962 tokens;
# 3. run.py on a 24-sample input with random 2.7B-FBC2 weights: graphs in use and per-phase rates.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$PWD"
LOG="${OUT:-/tmp}/gpu_check.log"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
exec > >(tee "$LOG") 2>&1

PY="${PYTHON:-python3}"
DEVICE=cuda CONFIG=2.7B-FBC2 DTYPE=fp16 ROWS=1,8,64 BPE=(--bpe weights/demo/bpe.model) EXTRA=() RUN=(--no-eco2ai)
SLOWER=1
if [ -n "${GPU_CHECK_REHEARSAL:-}" ]; then
  # tiny's vocabulary is too small for the demo BPE; the stand-in replaces torch.cuda's graphs; a shared
  # CPU may be many times slower than the GPU machine, so its limits are wider
  DEVICE=cpu CONFIG=tiny DTYPE=fp32 ROWS=1,2 BPE=() EXTRA=(--cuda-standin --repeats 2) RUN=(--no-eco2ai --decoding static)
  SLOWER=10
fi

step() { echo; echo "=== $1 ($(date -u +%H:%M:%S))"; }
# run LIMIT COMMAND...: the command under a time limit; the whole check stops when it fails.
run() {
  local limit=$1; shift
  timeout $((limit * SLOWER)) "$@"
  local rc=$?
  if [ $rc -ne 0 ]; then echo "failed: exit $rc: $*"; echo "=== stopped"; exit 1; fi
}

step "0. modules and versions"
run 30 "$PY" - <<'EOF'
import importlib, sys
for name in ("torch", "numpy", "PIL", "pytest", "tqdm", "safetensors", "solution.rudolph", "solution.pipeline"):
    try:
        importlib.import_module(name)
    except Exception as e:
        sys.exit(f"missing: {name} ({type(e).__name__}: {e})")
import torch
gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
print(f"python {sys.version.split()[0]}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
      f"cuDNN {torch.backends.cudnn.version()}, {gpu}")
EOF

if [ -z "${GPU_CHECK_REHEARSAL:-}" ]; then
  step "1. pytest -k cuda"
  run 40 "$PY" -m pytest -q -p no:cacheprovider -k cuda tests/rudolph
fi

step "2. steps, sampling, a whole batch and the prefill at the $CONFIG shapes, $DTYPE"
run 120 "$PY" scripts/bench_generation.py --config $CONFIG --layers 0 --device $DEVICE --dtype $DTYPE \
    --batch $ROWS --figures "${EXTRA[@]}"

step "3. run.py on 24 samples with random $CONFIG weights"
run 40 "$PY" scripts/init_weights.py --config $CONFIG --out "$WORK/w" "${BPE[@]}" --device $DEVICE --dtype $DTYPE \
    --overwrite
run 10 "$PY" - "$WORK/in" <<'EOF'
import json, sys
from pathlib import Path
out = Path(sys.argv[1]); out.mkdir()
samples = json.loads(Path("sample_input/input.json").read_text(encoding="utf-8"))
(out / "input.json").write_text(json.dumps(dict(list(samples.items())[:24]), ensure_ascii=False), encoding="utf-8")
(out / "images").symlink_to(Path("sample_input/images").resolve())
EOF
run 50 "$PY" run.py --input "$WORK/in/input.json" --output "$WORK/out" --weights "$WORK/w" --no-progress "${RUN[@]}"
run 10 "$PY" - "$WORK/out" <<'EOF'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
predictions = json.loads((out / "predictions.json").read_text())
images = list((out / "images").glob("*.jpg")) if (out / "images").is_dir() else []
print(f"predictions.json: {len(predictions)} ids, {len(images)} images written")
EOF
step "done"
