#!/usr/bin/env bash
# `make local`: runs the whole system in the foreground, data in .local/:
#   - foo-apiserver standalone on embedded SQLite, https://127.0.0.1:9443 ($FOO_LOCAL_PORT);
#   - once it is ready, foo-controller-manager against .local/kubeconfig, with
#     --simulate-deployments (nothing runs pods here: the simulator reports every Deployment
#     ready as a cluster would), /metrics on 127.0.0.1:8080 and probes on 127.0.0.1:8081
#     ($FOO_LOCAL_METRICS_PORT, $FOO_LOCAL_PROBE_PORT).
# Ctrl-C stops both cleanly: the manager first (it finishes its reconciles and flushes its
# events while the server is still up), then the server. If either exits on its own, the other
# is stopped too and the script exits with the first one's status.
set -uo pipefail
BUILD="${1:-build}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DATA="$ROOT/.local"
PORT="${FOO_LOCAL_PORT:-9443}"
METRICS_PORT="${FOO_LOCAL_METRICS_PORT:-8080}"
PROBE_PORT="${FOO_LOCAL_PROBE_PORT:-8081}"
READY_TIMEOUT_S=30
# The data dir holds the keys and the SQLite file: private to this user (0700, files 0600).
umask 077
mkdir -p "$DATA"
chmod 700 "$DATA"

API_PID=""
MGR_PID=""

# Stops the manager, then the server (each by its PID, SIGTERM, waited for).
stop_all() {
    trap - INT TERM
    if [ -n "$MGR_PID" ] && kill -0 "$MGR_PID" 2>/dev/null; then
        kill -TERM "$MGR_PID"
        wait "$MGR_PID"
    fi
    if [ -n "$API_PID" ] && kill -0 "$API_PID" 2>/dev/null; then
        kill -TERM "$API_PID"
        wait "$API_PID"
    fi
}
# Job control puts each program in a process group of its own, so a Ctrl-C in the terminal
# reaches only this shell, which stops them in order (the programs would otherwise get the
# SIGINT at once, and the server could be gone before the manager releases its lease).
set -m
trap 'echo; echo "make local: stopping"; stop_all; exit 0' INT TERM

"$ROOT/$BUILD/foo-apiserver" --standalone --data-dir "$DATA" \
    --secure-port "$PORT" --bind-address 127.0.0.1 &
API_PID=$!

# Ready once it wrote its kubeconfig and /readyz (anonymous) answers 200.
deadline=$((SECONDS + READY_TIMEOUT_S))
until [ -f "$DATA/kubeconfig" ] &&
    curl -sf --max-time 2 --cacert "$DATA/pki/ca.crt" "https://127.0.0.1:$PORT/readyz" >/dev/null; do
    if ! kill -0 "$API_PID" 2>/dev/null; then
        wait "$API_PID"
        rc=$?
        echo "make local: foo-apiserver exited with $rc during start" >&2
        exit "$rc"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "make local: foo-apiserver not ready within ${READY_TIMEOUT_S}s" >&2
        stop_all
        exit 1
    fi
    sleep 0.2
done

"$ROOT/$BUILD/foo-controller-manager" --kubeconfig "$DATA/kubeconfig" --simulate-deployments \
    --metrics-bind-address "127.0.0.1:$METRICS_PORT" \
    --health-probe-bind-address "127.0.0.1:$PROBE_PORT" &
MGR_PID=$!

cat <<MSG
make local: foo-apiserver on https://127.0.0.1:$PORT (data in .local/) and
foo-controller-manager (--simulate-deployments; metrics http://127.0.0.1:$METRICS_PORT/metrics,
probes http://127.0.0.1:$PROBE_PORT/readyz) are running. In another terminal:
  export KUBECONFIG=$DATA/kubeconfig
  kubectl apply -f manifests/samples/foo.yaml
  kubectl get foos,deployments
  kubectl wait --for=condition=Ready foo/foo-example
Ctrl-C stops both.
MSG

# Whichever ends first (a crash, a port in use) takes the other down with it.
wait -n "$API_PID" "$MGR_PID"
rc=$?
echo "make local: a process exited with $rc; stopping the other" >&2
stop_all
exit "$rc"
