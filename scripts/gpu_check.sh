#!/usr/bin/env bash
# One prepared command for a borrowed GPU machine (one H100 or similar; python3 with torch, numpy,
# pillow, safetensors, tqdm and pytest; no network; youtokentome not needed). Under 8 minutes in all;
# every step has its own time limit, so one that hangs cannot eat the others' time.
#
#   bash scripts/gpu_check.sh                 # figures on stdout, a copy in $OUT/gpu_check.log if OUT is set
#   GPU_CHECK_REHEARSAL=1 bash scripts/gpu_check.sh   # the same steps on CPU at the tiny shapes (a test runs it)
#
# 1. the CUDA tests of the static decode step (graph replay equals eager decoding);
# 2. bench_generation at the 2.7B-FBC2 shapes in fp16, batch 8, 26 and 64: cached (eager, the old
#    default), static (eager, fixed shapes) and graph (CUDA graphs, run.py's GPU default): ms per step,
#    tokens/s, peak memory, the weight-read floor and the attention kernel the graph chose; greedy ids of
#    every mode against cached (first 64 image and 32 right-text tokens);
# 3. the same comparison in fp32 at batch 8, where fp16 rounding cannot make the modes differ;
# 4. torch.compile(mode="reduce-overhead") at batch 8, for comparison with the hand-captured graph;
# 5. run.py end to end on sample_input/ with random 2.7B-FBC2 weights (automatic batch size), its
#    per-phase rates.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
LOG="${OUT:-/tmp}/gpu_check.log"
WORK="$(mktemp -d)"
exec > >(tee "$LOG") 2>&1

step() { echo; echo "=== $1 ($(date -u +%H:%M:%S))"; }
PY="${PYTHON:-python3}"
DEVICE=cuda CONFIG=2.7B-FBC2 HALF=fp16 BPE=(--bpe weights/demo/bpe.model) REHEARSAL="${GPU_CHECK_REHEARSAL:-}"
BATCHES=8,26,64
[ -n "$REHEARSAL" ] && DEVICE=cpu CONFIG=tiny HALF=bf16 BPE=() BATCHES=2,3  # tiny's vocabulary is too small for the demo BPE

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
$PY -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda,
      torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU')"

if [ -z "$REHEARSAL" ]; then
  step "1. CUDA tests of the static decode step"
  timeout 120 $PY -m pytest -q -p no:cacheprovider tests/rudolph/test_static_decoding.py 2>&1 | tail -5
fi

step "2. decoding at the $CONFIG shapes, $HALF"
timeout 200 $PY scripts/bench_generation.py --config $CONFIG --layers 0 --device $DEVICE --dtype $HALF \
    --batch $BATCHES --modes cached,static,graph --image-steps 63 --right-steps 32 --check-greedy

step "3. greedy ids, fp32, batch 8"
timeout 90 $PY scripts/bench_generation.py --config $CONFIG --layers 0 --device $DEVICE --dtype fp32 \
    --batch 8 --modes cached,graph --image-steps 63 --right-steps 32 --check-greedy

if [ -z "$REHEARSAL" ]; then
  step "4. torch.compile(mode=reduce-overhead), $HALF, batch 8"
  timeout 150 $PY scripts/bench_generation.py --config $CONFIG --layers 0 --device $DEVICE --dtype $HALF \
      --batch 8 --modes graph,compile --image-steps 32 --right-steps 16 --check-greedy
fi

step "5. run.py on sample_input/ with random $CONFIG weights"
timeout 90 $PY scripts/init_weights.py --config $CONFIG --out "$WORK/w" "${BPE[@]}" \
    --device $DEVICE --dtype $HALF --overwrite
timeout 150 $PY run.py --input sample_input/input.json --output "$WORK/out" --weights "$WORK/w" \
    --no-eco2ai --no-progress
$PY - "$WORK/out" <<'EOF'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
predictions = json.loads((out / "predictions.json").read_text())
images = list((out / "images").glob("*.jpg")) if (out / "images").is_dir() else []
print(f"predictions.json: {len(predictions)} ids, {len(images)} images written")
EOF
rm -rf "$WORK"
step "done"
