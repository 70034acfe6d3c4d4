#!/usr/bin/env bash
# The container, built and run for real on a machine without a container registry or a GPU.
#
#   bash scripts/docker_check.sh          # as root, on Debian (or Ubuntu) with apt-get; CI runs it
#
# Steps (one line each, with its duration; a failure names its step and shows the end of its log):
#   install   docker.io and debootstrap from the distribution, only when dockerd/containerd/runc or
#             debootstrap is missing (services are not started: policy-rc.d)
#   host-run  run.py on the host (HOST_PYTHON, default .venv/bin/python) with the same weights
#   engine    a private containerd + dockerd: temporary data root, own sockets, pidfiles and exec root
#             (so they never meet another daemon), no bridge, no iptables, no ip_forward
#   stand-in  the base image: Debian bookworm (debootstrap, minbase) + a venv at /opt/conda (where the
#             pytorch images keep their Python) holding the CPU torch wheel that pip finds here; cached
#             as a saved image under CACHE_DIR, keyed by the hash of everything that makes it
#   build     ./Dockerfile on the stand-in: --build-arg REQUIRE_CUDA=0, the demo weights, --force-rm
#   run       the image as the contest runs it: metadata.json's entrypoint, --network none, input
#             read-only at /fbc2/input (one level above the working directory), output at
#             /fbc2/solution/output
#   validate  every id answered, images that open, emission.csv with a CO2_emissions(kg) row, no
#             traceback on stderr, every output file readable by another user, predictions
#             byte-identical (and images pixel-identical) to the host run
#   cleanup   (also on failure) the daemons by pid, their mounts, cgroups and files, the data root;
#             then the machine is compared with how it was found (ip link, iptables -S, ip_forward)
#
# What it proves: the Dockerfile builds on a base laid out like the pytorch image (python3 from
# /opt/conda/bin, root, apt-get), install.sh --system --runtime works in it, and the image answers the
# sample set offline exactly as the host does, with the sustainability CSV. What it does NOT prove: the
# CUDA base image itself (pytorch/pytorch:..., never pulled here), CUDA or a GPU, the A100's speed.
#
# Environment: HOST_PYTHON (.venv/bin/python), WEIGHTS (weights/demo), CACHE_DIR
# (/var/cache/fbc2-docker-check), RUN_TIMEOUT (1800 s for the container run), SAMPLES (the first N
# samples of each task of sample_input/; default all 120).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export LC_NUMERIC=C

HOST_PYTHON="${HOST_PYTHON:-.venv/bin/python}"
WEIGHTS="${WEIGHTS:-weights/demo}"
CACHE_DIR="${CACHE_DIR:-/var/cache/fbc2-docker-check}"
RUN_TIMEOUT="${RUN_TIMEOUT:-1800}"
SUITE=bookworm  # python3 3.11 and glibc 2.36: the cp311 manylinux_2_28 torch wheel installs
MIRROR=http://deb.debian.org/debian
DEBOOTSTRAP_ARGS=(--variant=minbase --include=python3,python3-venv,ca-certificates "$SUITE")
CGROUP_PARENT="fbc2-docker-check-$$"

say() { echo "docker_check: $*"; }
STEP=preflight
FAILED=0
fail() {  # a failure of the current step, in one line
  echo "docker_check: FAIL in step $STEP: $*" >&2
  FAILED=1
  exit 1
}
now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
NOTE=""
step() {  # step NAME FUNCTION: one line with the step's duration (and NOTE, set by the step)
  STEP=$1
  local t0
  t0=$(now)
  "$2"
  printf 'docker_check: %-9s ok %7s s%s\n' "$1" "$(since "$t0")" "${NOTE:+  $NOTE}"
  NOTE=""
}
log() { echo "$LOGS/$STEP.log"; }  # where the current step's command output goes

# -- the machine as found ------------------------------------------------------------------------
snapshot() {
  echo "## ip -br link"; ip -br link
  echo "## sysctl net.ipv4.ip_forward"; sysctl -n net.ipv4.ip_forward
  echo "## iptables -S"; iptables -S 2>&1 || true
  echo "## iptables -t nat -S"; iptables -t nat -S 2>&1 || true
}
FORWARD_POLICY=""
IP_FORWARD=""
DOCKER_KEY_EXISTED=1
RUN_CONTAINERD_EXISTED=1
POLICY_RC_CREATED=0
WORK=""
CONTAINERD_PID=""
DOCKERD_PID=""

stop_pid() {  # stop_pid PID NAME SECONDS: SIGTERM, then SIGKILL after SECONDS
  local pid=$1 name=$2 n=$(( $3 * 10 ))
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    say "warning: $name (pid $pid) ignored SIGTERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$? t0 leftovers
  set +e
  trap - EXIT INT TERM
  if [ "$rc" != 0 ] && [ "$FAILED" = 0 ]; then
    echo "docker_check: FAIL in step $STEP (exit $rc)" >&2
  fi
  if [ "$rc" != 0 ] && [ -n "$WORK" ] && [ -s "$LOGS/$STEP.log" ]; then
    echo "docker_check: the end of $LOGS/$STEP.log:" >&2
    tail -n 40 "$LOGS/$STEP.log" | sed 's/^/    /' >&2
  fi
  STEP=cleanup
  t0=$(now)
  [ -n "$DOCKERD_PID" ] && stop_pid "$DOCKERD_PID" dockerd 60
  [ -n "$CONTAINERD_PID" ] && stop_pid "$CONTAINERD_PID" containerd 30
  if [ -n "$WORK" ]; then
    # Processes the daemons started (container shims) name the work folder on their command line.
    leftovers=$(pgrep -f -- "$WORK/" || true)
    for pid in $leftovers; do
      say "warning: killing leftover process $pid: $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)"
      kill -KILL "$pid" 2>/dev/null
    done
    findmnt -rn -o TARGET | grep -F -- "$WORK/" | sort -r | while read -r target; do
      umount "$target" 2>/dev/null || umount -l "$target"
    done
    if findmnt -rn -o TARGET | grep -qF -- "$WORK/"; then
      say "warning: mounts remain under $WORK; it is left in place"
      rc=1
    else
      rm -rf --one-file-system "$WORK"
    fi
  fi
  for dir in /sys/fs/cgroup/*/"$CGROUP_PARENT" /sys/fs/cgroup/"$CGROUP_PARENT"; do
    [ -d "$dir" ] && find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  [ "$DOCKER_KEY_EXISTED" = 0 ] && rm -f /etc/docker/key.json
  [ "$RUN_CONTAINERD_EXISTED" = 0 ] && [ -d /run/containerd ] && find /run/containerd -depth -type d -exec rmdir {} + 2>/dev/null
  [ "$POLICY_RC_CREATED" = 1 ] && rm -f /usr/sbin/policy-rc.d
  if [ -n "$IP_FORWARD" ]; then
    # The daemon was told to leave the network alone; undo what it would change by default anyway.
    ip link show docker0 >/dev/null 2>&1 && ! grep -q '^docker0 ' "$CACHE_DIR/last-run/before.txt" && ip link delete docker0
    [ "$(sysctl -n net.ipv4.ip_forward)" != "$IP_FORWARD" ] && sysctl -q -w "net.ipv4.ip_forward=$IP_FORWARD"
    [ -n "$FORWARD_POLICY" ] && iptables -P FORWARD "$FORWARD_POLICY" 2>/dev/null
    snapshot > "$CACHE_DIR/last-run/after.txt"
    if cmp -s "$CACHE_DIR/last-run/before.txt" "$CACHE_DIR/last-run/after.txt"; then
      NOTE="machine as found: ip link, iptables -S (filter, nat), ip_forward=$IP_FORWARD unchanged; no daemon"
    else
      echo "docker_check: FAIL in step cleanup: the machine is not as it was found:" >&2
      diff "$CACHE_DIR/last-run/before.txt" "$CACHE_DIR/last-run/after.txt" | sed 's/^/    /' >&2
      rc=1
    fi
  fi
  printf 'docker_check: %-9s %s %7s s%s\n' cleanup "$([ "$rc" = 0 ] && echo ok || echo --)" "$(since "$t0")" "${NOTE:+  $NOTE}"
  if [ "$rc" = 0 ]; then say "PASS"; else say "FAIL (logs: $CACHE_DIR/last-run/)"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# -- preflight -----------------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || fail "run it as root (it installs packages and starts dockerd)"
command -v apt-get >/dev/null || fail "needs apt-get (Debian or Ubuntu)"
[ -x "$HOST_PYTHON" ] || fail "no $HOST_PYTHON (run bash scripts/install.sh first, or set HOST_PYTHON)"
[ -f "$WEIGHTS/config.json" ] || fail "no weights folder $WEIGHTS (set WEIGHTS)"
mkdir -p "$CACHE_DIR/last-run"
LOGS="$CACHE_DIR/last-run"
rm -f "$LOGS"/*.log "$LOGS"/*.txt
WORK=$(mktemp -d /var/tmp/fbc2-docker-check.XXXXXX)
chmod 0755 "$WORK"  # so that another user can reach the output folder (the readability check)
T_START=$(now)

# -- install -------------------------------------------------------------------------------------
install_packages() {
  local missing=()
  for tool in dockerd containerd runc; do command -v "$tool" >/dev/null || missing=(docker.io); done
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if [ ${#missing[@]} = 0 ]; then
    NOTE="nothing to install ($(dockerd --version))"
    return
  fi
  if [ ! -e /usr/sbin/policy-rc.d ]; then  # the packages must not start their services
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    POLICY_RC_CREATED=1
  fi
  {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  } > "$(log)" 2>&1
  if [ "$POLICY_RC_CREATED" = 1 ]; then rm -f /usr/sbin/policy-rc.d; POLICY_RC_CREATED=0; fi
  NOTE="installed ${missing[*]} ($(dockerd --version))"
}

# -- host run ------------------------------------------------------------------------------------
INPUT="$WORK/input"
HOST_OUT="$WORK/host/output"
OUT="$WORK/container/output"
host_run() {
  # The contest's input folder: input.json and images/ (no ground truth); SAMPLES: the first N of each task.
  mkdir -p "$INPUT/images" "$(dirname "$HOST_OUT")" "$OUT"
  "$HOST_PYTHON" - "$INPUT" "${SAMPLES:-}" > "$(log)" 2>&1 <<'PYEOF' || fail "cannot make the input folder from sample_input/"
import json
import shutil
import sys
from pathlib import Path

out, per_task = Path(sys.argv[1]), int(sys.argv[2] or 0)
data = json.loads(Path("sample_input/input.json").read_text(encoding="utf-8"))
if per_task:
    tasks = json.loads(Path("sample_input/sample_ids.json").read_text(encoding="utf-8"))
    taken = {}
    for sample_id, task in tasks.items():
        taken.setdefault(task, []).append(sample_id)
    keep = {i for ids in taken.values() for i in ids[:per_task]}
    data = {i: items for i, items in data.items() if i in keep}
for items in data.values():
    for item in items:
        if item["type"] == "image":
            shutil.copyfile(Path("sample_input") / item["content"], out / item["content"])
(out / "input.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
print(len(data))
PYEOF
  INPUT_NOTE="$(tail -n 1 "$(log)") samples"
  chmod -R a+rX "$WORK"
  PYTHONPATH="$ROOT" "$HOST_PYTHON" run.py --input "$INPUT/input.json" --output "$HOST_OUT" \
    --weights "$WEIGHTS" --no-eco2ai > "$(log)" 2>&1 || fail "run.py on the host failed"
  NOTE="$INPUT_NOTE of sample_input/, $("$HOST_PYTHON" -c "import torch; print('torch', torch.__version__)" 2>/dev/null)"
}

# -- engine --------------------------------------------------------------------------------------
DOCKER=()
start_engine() {
  [ -e /etc/docker/key.json ] || DOCKER_KEY_EXISTED=0
  [ -d /run/containerd ] || RUN_CONTAINERD_EXISTED=0
  IP_FORWARD=$(sysctl -n net.ipv4.ip_forward)
  FORWARD_POLICY=$(iptables -S FORWARD 2>/dev/null | awk '$1 == "-P" { print $3 }')
  snapshot > "$LOGS/before.txt"
  local c="$WORK/containerd" d="$WORK/docker"
  mkdir -p "$c" "$d/data" "$d/exec" "$d/client"
  cat > "$c/config.toml" <<EOF
version = 2
root = "$c/root"
state = "$c/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$c/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$c/opt"
EOF
  # Its own configuration (never /etc/docker/daemon.json), its trust key too (else /etc/docker/key.json).
  echo "{\"deprecated-key-path\": \"$d/key.json\"}" > "$d/daemon.json"
  containerd --config "$c/config.toml" > "$LOGS/containerd.log" 2>&1 &
  CONTAINERD_PID=$!
  wait_for "$c/containerd.sock" "$CONTAINERD_PID" containerd
  # The engine's network: none of its own. Builds use the host's network (--network host), the run
  # none at all, so there is no docker0 bridge, no iptables rule or policy and no ip_forward change.
  dockerd --config-file "$d/daemon.json" --containerd "$c/containerd.sock" \
    --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/dockerd.pid" -H "unix://$d/docker.sock" \
    --bridge=none --iptables=false --ip-forward=false --ip-masq=false --cgroup-parent="/$CGROUP_PARENT" \
    > "$LOGS/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  wait_for "$d/docker.sock" "$DOCKERD_PID" dockerd
  export DOCKER_CONFIG="$d/client" DOCKER_BUILDKIT=0
  DOCKER=("$(command -v /usr/bin/docker || command -v docker)" -H "unix://$d/docker.sock")
  local n=300
  until "${DOCKER[@]}" version > /dev/null 2>&1; do
    n=$((n - 1)); [ "$n" -gt 0 ] || engine_down "dockerd does not answer"
    sleep 0.2
  done
  NOTE="docker $("${DOCKER[@]}" version -f '{{.Server.Version}}'), storage $("${DOCKER[@]}" info -f '{{.Driver}}')"
}
engine_down() {
  echo "docker_check: !!! THE DOCKER ENGINE CANNOT START ON THIS MACHINE: $1 !!!" >&2
  echo "docker_check: !!! the image was NOT built or checked !!!" >&2
  tail -n 20 "$LOGS/containerd.log" "$LOGS/dockerd.log" 2>/dev/null | sed 's/^/    /' >&2
  fail "$1"
}
wait_for() {  # wait_for SOCKET PID NAME: until the daemon listens, or fail loudly
  local n=600
  until [ -S "$1" ]; do
    kill -0 "$2" 2>/dev/null || engine_down "$3 exited"
    n=$((n - 1)); [ "$n" -gt 0 ] || engine_down "$3 did not open $1 within 60 s"
    sleep 0.1
  done
}

# -- stand-in base -------------------------------------------------------------------------------
STANDIN=""
standin_dockerfile() {
  cat <<'EOF'
# The stand-in for the pytorch base image, for scripts/docker_check.sh only.
FROM fbc2-standin-rootfs
# Outgoing HTTPS on these machines is re-signed by a local authority: trust the host's bundle. The real
# base image, built elsewhere, needs nothing of the kind (the project's Dockerfile adds nothing).
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV PATH=/opt/conda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
COPY wheels/ /tmp/wheels/
RUN python3 -m venv /opt/conda \
    && python3 -m pip install -q --no-cache-dir --disable-pip-version-check /tmp/wheels/*.whl \
    && rm -rf /tmp/wheels \
    && python3 -c "import torch; print('stand-in torch', torch.__version__)"
EOF
}
make_standin() {
  local ctx="$WORK/standin" key wheel
  mkdir -p "$ctx/wheels"
  # The torch wheel that pip installs on this machine (install.sh's torch==TORCH_VERSION).
  "$HOST_PYTHON" -m pip download -q --no-deps --only-binary :all: -d "$ctx/wheels" \
    "torch==${TORCH_VERSION:-2.13.0}" > "$(log)" 2>&1 || fail "pip cannot download torch==${TORCH_VERSION:-2.13.0}"
  wheel=$(ls "$ctx/wheels")
  case "$wheel" in
    *+cpu*) ;;
    *) fail "pip finds $wheel here, not a CPU build (set PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu TORCH_VERSION=2.13.0+cpu)" ;;
  esac
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
  standin_dockerfile > "$ctx/Dockerfile"
  key=$( { echo "debootstrap ${DEBOOTSTRAP_ARGS[*]} $MIRROR"; cat "$ctx/Dockerfile"
           sha256sum "$ctx/wheels/$wheel" "$ctx/ca-certificates.crt" | cut -d' ' -f1; } | sha256sum | cut -c1-16)
  STANDIN="fbc2-standin:$key"
  local saved="$CACHE_DIR/standin-$key.tar"
  if [ -f "$saved" ]; then
    "${DOCKER[@]}" load -q -i "$saved" >> "$(log)" 2>&1 || fail "cannot load the cached $saved"
    NOTE="$STANDIN loaded from the cache ($(size_of "$STANDIN"))"
    return
  fi
  debootstrap "${DEBOOTSTRAP_ARGS[@]}" "$WORK/rootfs" "$MIRROR" >> "$(log)" 2>&1 || fail "debootstrap failed"
  tar -C "$WORK/rootfs" -c . | "${DOCKER[@]}" import - fbc2-standin-rootfs >> "$(log)" 2>&1
  rm -rf --one-file-system "$WORK/rootfs"
  "${DOCKER[@]}" build --network host --force-rm -t "$STANDIN" "$ctx" >> "$(log)" 2>&1 \
    || fail "the stand-in image does not build"
  "${DOCKER[@]}" save -o "$saved.part" "$STANDIN" && mv "$saved.part" "$saved"
  find "$CACHE_DIR" -maxdepth 1 -name 'standin-*.tar*' ! -name "standin-$key.tar" -delete
  NOTE="$STANDIN built and saved to $saved ($(size_of "$STANDIN"))"
}
size_of() { "${DOCKER[@]}" image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1e6 }'; }

# -- build, run, validate ------------------------------------------------------------------------
IMAGE=fbc2-rudolph:docker-check
build_image() {
  "${DOCKER[@]}" build --network host --force-rm -t "$IMAGE" --build-arg "BASE_IMAGE=$STANDIN" \
    --build-arg REQUIRE_CUDA=0 --build-arg "WEIGHTS=$WEIGHTS" . > "$(log)" 2>&1 \
    || fail "the project's Dockerfile does not build on the stand-in"
  local total base
  total=$("${DOCKER[@]}" image inspect -f '{{.Size}}' "$IMAGE")
  base=$("${DOCKER[@]}" image inspect -f '{{.Size}}' "$STANDIN")
  NOTE=$(awk -v t="$total" -v b="$base" 'BEGIN { printf "image %.0f MB: the stand-in %.0f MB + the project'"'"'s layers %.0f MB", t / 1e6, b / 1e6, (t - b) / 1e6 }')
}
run_container() {
  local command rc=0 t0
  mapfile -t command < <("$HOST_PYTHON" -c 'import json, shlex, sys
print("\n".join(shlex.split(json.load(open(sys.argv[1], encoding="utf-8"))["entrypoint"])))' metadata.json)
  t0=$(now)
  timeout --kill-after=30 "$RUN_TIMEOUT" "${DOCKER[@]}" run --rm --name fbc2-docker-check --network none \
    -v "$INPUT:/fbc2/input:ro" -v "$OUT:/fbc2/solution/output" "$IMAGE" "${command[@]}" \
    > "$LOGS/run.stdout" 2> "$LOGS/run.stderr" || rc=$?
  cp "$LOGS/run.stderr" "$(log)"
  [ "$rc" = 0 ] || fail "the container ($(printf '%s ' "${command[@]}")) exited with code $rc"
  NOTE="'${command[*]}' exit 0 in $(since "$t0") s, --network none"
}
validate() {
  PYTHONPATH="$ROOT:$ROOT/scripts" "$HOST_PYTHON" - "$OUT" "$HOST_OUT" "$INPUT" "$LOGS/run.stderr" \
    > "$(log)" 2>&1 <<'PYEOF' || fail "the container's output is not right"
import csv
import sys
from pathlib import Path

from PIL import Image

import check_submission

out, host_out, input_dir, stderr = map(Path, sys.argv[1:])
problems = check_submission.Problems()
ids = check_submission.read_input_ids(input_dir)
counts = check_submission.validate_output(out, ids, problems)

check_submission.check_emissions(out, problems)
rows = []
if (out / "emission.csv").is_file():
    with (out / "emission.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        try:
            float(row.get("CO2_emissions(kg)") or "")
        except ValueError:
            problems.add(f"output/emission.csv: CO2_emissions(kg) is {row.get('CO2_emissions(kg)')!r}, not a number")

text = stderr.read_text(encoding="utf-8", errors="replace")
if "Traceback" in text:
    problems.add(f"a traceback on the container's stderr ({text.count('Traceback')} of them)")

if (out / "predictions.json").is_file() and (out / "predictions.json").read_bytes() != (
        host_out / "predictions.json").read_bytes():
    problems.add("predictions.json differs from the host run's")
images = sorted(p.relative_to(host_out) for p in (host_out / "images").rglob("*") if p.is_file())
same_bytes = 0
for rel in images:
    if not (out / rel).is_file():
        problems.add("an image of the host run is missing", str(rel))
    elif (out / rel).read_bytes() == (host_out / rel).read_bytes():
        same_bytes += 1
    else:
        with Image.open(out / rel) as a, Image.open(host_out / rel) as b:
            if a.size != b.size or a.mode != b.mode or a.tobytes() != b.tobytes():
                problems.add("an image differs in its pixels from the host run's", str(rel))
for line in problems.lines():
    print(f"  - {line}")
if problems:
    sys.exit(1)
print(f"{counts['samples']} ids answered ({counts['texts']} texts, {counts['images']} images), emission.csv "
      f"with {len(rows)} row(s), predictions.json identical to the host run's, {len(images)} images "
      f"pixel-identical ({same_bytes} byte-identical)")
PYEOF
  NOTE=$(tail -n 1 "$(log)")
  # Readable by another user: the organisers on the host are not root.
  local unreadable
  unreadable=$(find "$OUT" \( -type f ! -perm -o=r \) -o \( -type d ! -perm -o=rx \) | head -n 5)
  [ -z "$unreadable" ] || fail "output files another user cannot read (modes): $(stat -c '%A %n' $unreadable | tr '\n' ' ')"
  runuser -u nobody -- find "$OUT" -type f -exec cat {} + > /dev/null 2>> "$(log)" \
    || fail "the user nobody cannot read every output file"
  NOTE="$NOTE; every file readable by nobody"
}

step install install_packages
step host-run host_run
step engine start_engine
step stand-in make_standin
step build build_image
step run run_container
step validate validate
say "all steps passed in $(since "$T_START") s"
