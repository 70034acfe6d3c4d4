#!/usr/bin/env bash
# Reproduce weights/demo/: a BPE, a small VQGAN and the RUDOLPH "demo-m16" config trained from scratch
# on the synthetic FBC2 train split, on CPU (2 cores: about 2 h 15 min), then continued by
# scripts/continue_demo.sh (1 core: about 55 min); see docs/training.md.
#
#   bash scripts/train_demo.sh                 # writes runs/demo/ (work files) and weights/demo/
#   PER_TASK=40 TASK_COUNTS= EPOCHS=1 VQGAN_STEPS=10 CONTINUE=0 OUT=/tmp/demo_quick bash scripts/train_demo.sh   # a quick check
#   TASK_COUNTS= VQGAN_CONFIG=training/configs/vqgan/demo32.json VQGAN_STEPS=1200 VQGAN_BATCH=32 VQGAN_EDGE=0 \
#     RUDOLPH_CONFIG=demo EPOCHS=6 bash scripts/train_demo.sh   # the earlier 45-minute demo (no TRitW)
#
# Steps (each logged with its wall time to $WORK/recipe.log):
#   1. training data: $PER_TASK samples per open task of the train split, TASK_COUNTS overriding single
#      tasks (by default 5000 TRitW, 2000 TextQA and 2000 MathQA), FBC2 training folders
#   2. BPE: 1000 tokens on those texts                                    (scripts/train_bpe.py)
#   3. VQGAN: training/configs/vqgan/demo64-f4.json, 64px images -> 16x16 codes, 512 codes, with the edge term
#      that keeps glyph strokes apart                                      (scripts/train_vqgan.py)
#   4. RUDOLPH "demo-m16" (6 layers, 256 wide, l=64 m=16 r=20; 5.6M parameters) (scripts/train.py,
#      DeepSpeed ZeRO-1 fp32 on CPU, eco2AI with TargetValue)
#   5. weights/demo/: the weights directory plus its logs, the eco2AI CSVs and REPRODUCE.md
#   6. with CONTINUE=1 (the default): scripts/continue_demo.sh on $OUT in place, the bundled demo's
#      continuation (MathQA and TRitW favoured, option-text targets; its own knobs, see that script)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WORK="${WORK:-runs/demo}"
OUT="${OUT:-weights/demo}"
PER_TASK="${PER_TASK:-1000}"
TASK_COUNTS="${TASK_COUNTS-TRitW=5000 TextQA=2000 MathQA=2000}"  # per-task overrides of PER_TASK (space-separated); empty: none
BPE_VOCAB="${BPE_VOCAB:-1000}"
VQGAN_STEPS="${VQGAN_STEPS:-1600}"
VQGAN_CONFIG="${VQGAN_CONFIG:-training/configs/vqgan/demo64-f4.json}"  # 64px, 16x16 codes; demo32.json: 32px, 8x8 codes
VQGAN_BATCH="${VQGAN_BATCH:-16}"
VQGAN_EDGE="${VQGAN_EDGE:-2}"  # weight of the VQGAN's edge term (keeps glyph strokes); 0: off
RUDOLPH_CONFIG="${RUDOLPH_CONFIG:-demo-m16}"  # must match the VQGAN: demo for demo32.json
EPOCHS="${EPOCHS:-4}"
MICRO_BATCH="${MICRO_BATCH:-16}"
LR="${LR:-6e-4}"
THREADS="${THREADS:-2}"
SEED="${SEED:-0}"
CONTINUE="${CONTINUE:-1}"  # 1: also run scripts/continue_demo.sh on $OUT; 0: the from-scratch weights only
COUNTRY="${COUNTRY:-RU}"
MAX_MB=30

mkdir -p "$WORK"
LOG="$WORK/recipe.log"
# shellcheck source=scripts/demo_steps.sh
source scripts/demo_steps.sh
task_count_args
# every knob that shapes the weights, once: the log header and REPRODUCE.md both print it
SETTINGS="PER_TASK=$PER_TASK TASK_COUNTS='$TASK_COUNTS' BPE_VOCAB=$BPE_VOCAB VQGAN_CONFIG=$VQGAN_CONFIG"
SETTINGS+=" VQGAN_STEPS=$VQGAN_STEPS VQGAN_BATCH=$VQGAN_BATCH VQGAN_EDGE=$VQGAN_EDGE RUDOLPH_CONFIG=$RUDOLPH_CONFIG"
SETTINGS+=" EPOCHS=$EPOCHS MICRO_BATCH=$MICRO_BATCH LR=$LR THREADS=$THREADS SEED=$SEED"
echo "== train_demo.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) $SETTINGS" | tee -a "$LOG"

step data "$PYTHON" scripts/make_sample_input.py --split train --per-task "$PER_TASK" "${COUNT_ARGS[@]}" --out "$WORK/data"
step bpe "$PYTHON" scripts/train_bpe.py --train-dir "$WORK/data" --per-task 0 --vocab-size "$BPE_VOCAB" \
  --out "$WORK/bpe/bpe.model"
step vqgan "$PYTHON" scripts/train_vqgan.py --config "$VQGAN_CONFIG" --train-dir "$WORK/data" \
  --steps "$VQGAN_STEPS" --batch-size "$VQGAN_BATCH" --edge-weight "$VQGAN_EDGE" --lr 1e-3 --seed "$SEED" --threads "$THREADS" --out "$WORK/vqgan" \
  --emission-csv "$WORK/vqgan/emission_vqgan.csv" --country "$COUNTRY"
rm -rf "$WORK/rudolph"
step rudolph "$PYTHON" scripts/train.py --config "$RUDOLPH_CONFIG" --bpe "$WORK/bpe/bpe.model" --vqgan "$WORK/vqgan" \
  --train-dir "$WORK/data" --epochs "$EPOCHS" --micro-batch "$MICRO_BATCH" --grad-accum 1 --lr "$LR" \
  --seed "$SEED" --threads "$THREADS" --save-every 500 --out "$WORK/rudolph" --final --country "$COUNTRY"

# 5. package: the weights directory run.py loads, with its logs and the reproduction note
rm -rf "$OUT"
mkdir -p "$OUT"
cp "$WORK"/rudolph/weights/* "$OUT"/
cp "$WORK"/rudolph/{emission.csv,train_log.jsonl,loss_log.csv,train_args.json} "$OUT"/
cp "$WORK"/vqgan/{emission_vqgan.csv,vqgan_train_log.jsonl,vqgan_summary.json,reconstructions.png} "$OUT"/
cp "$LOG" "$OUT"/recipe.log
chmod a+r "$OUT"/*  # safetensors writes its files 0600
cat > "$OUT/REPRODUCE.md" <<NOTE
# Demo weights

Trained by \`scripts/train_demo.sh\` on $(date -u +%Y-%m-%d) (commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)):

    $SETTINGS bash scripts/train_demo.sh

Files: the weights directory (config.json, rudolph.safetensors, bpe.model, vqgan.safetensors,
vqgan_config.json); RUDOLPH training: train_log.jsonl (per step), loss_log.csv (per epoch),
train_args.json, emission.csv (eco2AI, TargetValue rows); VQGAN training: vqgan_train_log.jsonl,
vqgan_summary.json, reconstructions.png, emission_vqgan.csv; recipe.log (wall time of every step).
NOTE
check_package train_demo.sh
if [[ "$CONTINUE" == 1 ]]; then
  # the continuation has its own PER_TASK, TASK_COUNTS, LR, ...: this script's must not leak into it
  env -u PER_TASK -u TASK_COUNTS -u MICRO_BATCH -u LR -u THREADS -u SEED \
    BASE="$OUT" OUT="$OUT" WORK="$WORK/continue" PYTHON="$PYTHON" COUNTRY="$COUNTRY" bash scripts/continue_demo.sh
fi
