#!/usr/bin/env bash
# README command 1: set-up (packages, build), then a real architecture search
# on Fashion-MNIST: a throw-away PostgreSQL, nas-controller and two nas-worker
# processes on this machine (one core each), a random search over nb201
# submitted with nasctl, followed live, ending with the candidates table and
# the Pareto front. Everything is stopped and deleted at the end; set
# NAS_KEEP=1 to keep the database directory and logs.
#   scripts/demo.sh [SPEC.yaml]   (default: examples/fashion_mnist_random.yaml;
#   the workers also run the example trainers: examples/custom_cnn.yaml works)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
spec=${1:-$repo/examples/fashion_mnist_random.yaml}
start=$(date +%s)
bash "$repo/scripts/build.sh" nas-controller nas-worker nasctl
build=${NAS_BUILD_DIR:-$repo/build}
work=$(mktemp -d /tmp/nas-demo-XXXXXX)
chmod 755 "$work"  # the database server may run as user postgres
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bash "$repo/scripts/pg-temp.sh" stop "$work/pg" >/dev/null 2>&1 || true
  if [[ -z "${NAS_KEEP:-}" ]]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT
mkdir -p "$work/pg"
echo "demo: starting PostgreSQL in $work/pg" >&2
db=$(bash "$repo/scripts/pg-temp.sh" start "$work/pg")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export NAS_CONTROLLER=127.0.0.1:$port
# The example trainers of mode COMMAND (examples/trainers), so that
# examples/command_nb201.yaml and examples/custom_cnn.yaml run here too.
trainers="torchscript=$repo/examples/trainers/torchscript_fashion_mnist.py"
trainers+=",cnn=$repo/examples/trainers/cnn_space.py"
"$build/controller/nas-controller" --listen="$NAS_CONTROLLER" --database="$db" \
  >"$work/controller.log" 2>&1 &
pids+=($!)
for i in $(seq 1 100); do
  "$build/client/nasctl" list >/dev/null 2>&1 && break
  sleep 0.2
done
"$build/client/nasctl" list >/dev/null
for w in 1 2; do
  "$build/worker/nas-worker" --controller="$NAS_CONTROLLER" --id="worker-$w" --threads=1 \
    --trainer="$trainers" \
    >"$work/worker-$w.log" 2>&1 &
  pids+=($!)
done
echo "demo: controller on $NAS_CONTROLLER, 2 workers (logs in $work)" >&2
id=$("$build/client/nasctl" submit "$spec")
echo "demo: experiment $id submitted from $spec" >&2
"$build/client/nasctl" watch "$id"
echo
echo "== Candidates of experiment $id, best first =="
"$build/client/nasctl" candidates "$id" --order-by=-val_accuracy
echo
echo "== Rows in PostgreSQL =="
psql "$db" -tAc "SELECT 'candidates: ' || count(*) FROM candidates WHERE experiment_id=$id"
psql "$db" -tAc "SELECT 'results: ' || count(*) || ' by ' || count(DISTINCT worker_id) || ' workers' FROM results WHERE experiment_id=$id"
echo
echo "== Pareto front (validation accuracy up, MACs down) =="
mkdir -p "$build/demo"
"$build/client/nasctl" pareto "$id" --svg "$build/demo/pareto-$id.svg"
echo "(picture: $build/demo/pareto-$id.svg)"
"$build/client/nasctl" curve "$id" --svg "$build/demo/curve-$id.svg" >/dev/null
echo "(best accuracy by trial and by time: $build/demo/curve-$id.svg)"
if grep -qE '^\s*name:\s*darts' "$spec"; then
  echo
  echo "== Differentiable searches (derived cells, collapse, standalone accuracy) =="
  "$build/client/nasctl" searches "$id" --svg "$build/demo/searches-$id.svg"
  echo "(architecture weights per edge over epochs: $build/demo/searches-$id.svg)"
fi
echo
echo "demo: finished in $(( $(date +%s) - start )) s"
