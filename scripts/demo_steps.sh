# Shared by scripts/train_demo.sh and scripts/continue_demo.sh (sourced, not run): the logged step.
# step NAME COMMAND...: echo the command to stdout and $LOG, run it, log its wall time.
step() {
  local name="$1"; shift
  echo "== $name: $*" | tee -a "$LOG"
  local start=$SECONDS
  "$@"
  echo "== $name: done in $((SECONDS - start)) s" | tee -a "$LOG"
}
