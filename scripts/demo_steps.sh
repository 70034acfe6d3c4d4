# Shared by scripts/train_demo.sh and scripts/continue_demo.sh (sourced from the repository root, not run):
# the interpreter, the logged step, the task counts and the check of the packaged weights.
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

# step NAME COMMAND...: echo the command to stdout and $LOG, run it, log its wall time.
step() {
  local name="$1"; shift
  echo "== $name: $*" | tee -a "$LOG"
  local start=$SECONDS
  "$@"
  echo "== $name: done in $((SECONDS - start)) s" | tee -a "$LOG"
}

# task_count_args: COUNT_ARGS, a --task-count for every NAME=N of $TASK_COUNTS (space-separated).
task_count_args() {
  COUNT_ARGS=()
  local item
  for item in $TASK_COUNTS; do COUNT_ARGS+=(--task-count "$item"); done
}

# check_package SCRIPT: $OUT's size logged and refused above $MAX_MB MB, then its eco2AI report.
check_package() {
  local size_kb
  size_kb=$(du -sk "$OUT" | cut -f1)
  echo "== wrote $OUT: $((size_kb / 1024)) MB" | tee -a "$LOG"
  if (( size_kb > MAX_MB * 1024 )); then
    echo "$1: $OUT is larger than $MAX_MB MB" >&2
    exit 1
  fi
  "$PYTHON" -m evaluator co2 "$OUT/emission.csv" --loss-log "$OUT/loss_log.csv" --out-dir "$WORK/co2_report" | tee -a "$LOG"
}
