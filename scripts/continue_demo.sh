#!/usr/bin/env bash
# Continue the from-scratch demo RUDOLPH (scripts/train_demo.sh) on a mix that favours MathQA and TRitW,
# with the same BPE and VQGAN (so the image codes stay valid), on CPU (1 core: see docs/training.md).
#
#   bash scripts/continue_demo.sh                          # BASE=OUT=weights/demo: replaces it in place
#   BASE=runs/demo/scratch OUT=runs/demo/cont bash scripts/continue_demo.sh
#   PER_TASK=20 TASK_COUNTS= MAX_STEPS=2 WORK=/tmp/cont OUT=/tmp/cont/out bash scripts/continue_demo.sh   # a quick check
#
# Steps (each logged with its wall time to $WORK/recipe.log):
#   1. training data: a new draw of the train split (seed $DATA_SEED; the base model saw seed 1),
#      $PER_TASK samples per open task, TASK_COUNTS overriding single tasks
#   2. targets: samples with answer options train on the option's text, the string run.py scores
#      (scripts/option_value_targets.py; the base trained on "c) -21" and was scored on "-21")
#   3. RUDOLPH: scripts/train.py --weights BASE, $MAX_STEPS steps of $MICRO_BATCH, AdamW peak $LR
#      (5% warmup, linear decay to 0), eco2AI with TargetValue
#   4. OUT: the continued weights directory, its logs and eco2AI CSV, the base's VQGAN files and its
#      RUDOLPH logs as scratch_*, recipe.log (the base's, then this one's) and REPRODUCE.md
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BASE="${BASE:-weights/demo}"
WORK="${WORK:-runs/demo_cont}"
OUT="${OUT:-weights/demo}"
DATA_SEED="${DATA_SEED:-2}"
PER_TASK="${PER_TASK:-1000}"
TASK_COUNTS="${TASK_COUNTS-TRitW=6000 MathQA=3000 ImageGeneration=1500}"  # per-task overrides of PER_TASK; empty: none
MAX_STEPS="${MAX_STEPS:-420}"
MICRO_BATCH="${MICRO_BATCH:-16}"
LR="${LR:-2e-4}"
THREADS="${THREADS:-1}"
SEED="${SEED:-1}"
COUNTRY="${COUNTRY:-RU}"
MAX_MB=30

if [[ ! -f "$BASE/rudolph.safetensors" ]]; then
  echo "continue_demo.sh: $BASE has no rudolph.safetensors (run scripts/train_demo.sh first)" >&2
  exit 1
fi
if grep -qs "continue_demo.sh" "$BASE/recipe.log"; then
  echo "continue_demo.sh: $BASE is already continued (its recipe.log says so); give the from-scratch weights as BASE" >&2
  exit 1
fi
mkdir -p "$WORK"
LOG="$WORK/recipe.log"
: > "$LOG"
# shellcheck source=scripts/demo_steps.sh
source scripts/demo_steps.sh
task_count_args
SETTINGS="DATA_SEED=$DATA_SEED PER_TASK=$PER_TASK TASK_COUNTS='$TASK_COUNTS' MAX_STEPS=$MAX_STEPS"
SETTINGS+=" MICRO_BATCH=$MICRO_BATCH LR=$LR THREADS=$THREADS SEED=$SEED"
echo "== continue_demo.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) BASE=$BASE $SETTINGS" | tee -a "$LOG"

# the base is copied first: OUT may be BASE, and the package step replaces OUT
rm -rf "$WORK/base" "$WORK/rudolph"
cp -r "$BASE" "$WORK/base"
rm -rf "$WORK/data"
step data "$PYTHON" scripts/make_sample_input.py --split train --seed "$DATA_SEED" --per-task "$PER_TASK" \
  "${COUNT_ARGS[@]}" --out "$WORK/data"
step targets "$PYTHON" scripts/option_value_targets.py "$WORK/data"
step rudolph env OMP_NUM_THREADS="$THREADS" "$PYTHON" scripts/train.py --weights "$WORK/base" --train-dir "$WORK/data" \
  --epochs 1 --max-steps "$MAX_STEPS" --micro-batch "$MICRO_BATCH" --grad-accum 1 --lr "$LR" --seed "$SEED" \
  --threads "$THREADS" --save-every 140 --keep-checkpoints 1 --out "$WORK/rudolph" --final --country "$COUNTRY" --no-progress

# 4. package
rm -rf "$OUT"
mkdir -p "$OUT"
cp "$WORK"/rudolph/weights/* "$OUT"/
cp "$WORK"/rudolph/{emission.csv,train_log.jsonl,loss_log.csv,train_args.json} "$OUT"/
for f in emission_vqgan.csv vqgan_train_log.jsonl vqgan_summary.json reconstructions.png; do
  if [[ -f "$WORK/base/$f" ]]; then cp "$WORK/base/$f" "$OUT"/; fi
done
for f in train_log.jsonl loss_log.csv train_args.json emission.csv; do
  if [[ -f "$WORK/base/$f" ]]; then cp "$WORK/base/$f" "$OUT/scratch_$f"; fi
done
{ if [[ -f "$WORK/base/recipe.log" ]]; then cat "$WORK/base/recipe.log"; fi; cat "$LOG"; } > "$OUT/recipe.log"
chmod a+r "$OUT"/*  # safetensors writes its files 0600
{
  if [[ -f "$WORK/base/REPRODUCE.md" ]]; then cat "$WORK/base/REPRODUCE.md"; echo; fi
  cat <<NOTE
## Continuation

Then continued by \`scripts/continue_demo.sh\` on $(date -u +%Y-%m-%d) (commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)):

    $SETTINGS bash scripts/continue_demo.sh

RUDOLPH only (same BPE and VQGAN) on a new draw of the train split, samples with answer options
trained on the option's text; wall time of each step in recipe.log. train_log.jsonl, loss_log.csv,
train_args.json and emission.csv are this continuation's; the from-scratch run's are scratch_*.
NOTE
} > "$OUT/REPRODUCE.md.new"
mv "$OUT/REPRODUCE.md.new" "$OUT/REPRODUCE.md"
check_package continue_demo.sh
