#!/usr/bin/env bash
# Part 6 of `make bench` (run by bench/run.sh after part 5): what delegated authentication and
# authorization cost a request (issue 9, docs/api.md §9.7). GET of one Foo over HTTPS keep-alive
# (wrk, 32 connections), the same bearer token each time:
#   - standalone: the token is a line of --token-auth-file, every authenticated user may do
#     anything (no review at all);
#   - delegated:  the token goes to a TokenReview and the request to a SubjectAccessReview,
#     both answered once by test/e2e/kube_double.py (the double of kube-apiserver's delegation
#     side) and then from the server's caches (TTL 1h), so this measures the cached path every
#     request of a busy cluster takes: the token's hash, the review's attributes, the SAR key.
# Ratio: delegated / standalone (1 = free). Output: a table on stdout, wrk's output in
# bench/out/delegated-wrk.txt.
#
# Usage: bench/delegated.sh BUILD_DIR   (BUILD_DIR holds foo-apiserver)
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh" "$@"
DURATION="${DELEGATED_DURATION:-10s}"
TOKEN=alice-token # the double's default policy: alice may do anything
FOO='{"apiVersion":"demo.example.com/v1beta1","kind":"Foo","metadata":{"name":"bench"},"spec":{"replicas":1}}'
FOO_PATH=/apis/demo.example.com/v1beta1/foos

WORK="$(mktemp -d "${TMPDIR:-/tmp}/foo-bench-delegated.XXXXXX")"
cleanup() {
    stop_started
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$OUT"
: >"$OUT/delegated-wrk.txt"

# Creates the Foo on $1 and measures GETs of it; prints Requests/sec.
measure() {
    local url="$1" label="$2"
    curl -sk --fail -o /dev/null -H "Authorization: Bearer $TOKEN" \
        -H "Content-Type: application/json" -X POST "$url$FOO_PATH" -d "$FOO"
    wrk_rate "$label" "$OUT/delegated-wrk.txt" \
        wrk -t1 -c32 -d"$DURATION" -H "Authorization: Bearer $TOKEN" "$url$FOO_PATH/bench"
}

# ---- standalone, the token from a token file
port="$(free_port)"
printf '%s,alice,alice-uid,"devs"\n' "$TOKEN" >"$WORK/tokens.csv"
"$BUILD/foo-apiserver" --standalone --data-dir "$WORK/standalone" --secure-port "$port" \
    --bind-address 127.0.0.1 --token-auth-file "$WORK/tokens.csv" 2>"$WORK/standalone.log" &
PIDS+=($!)
wait_ready "https://127.0.0.1:$port" "standalone foo-apiserver"
standalone="$(measure "https://127.0.0.1:$port" standalone)"

# ---- delegated, against the double
"$PYTHON" "$ROOT/test/e2e/kube_double.py" --dir "$WORK/double" >"$WORK/double.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do [ -f "$WORK/double/kubeconfig" ] && break; sleep 0.1; done
port="$(free_port)"
"$BUILD/foo-apiserver" --secure-port "$port" --bind-address 127.0.0.1 \
    --tls-cert-file "$WORK/double/pki/foo-apiserver.crt" \
    --tls-private-key-file "$WORK/double/pki/foo-apiserver.key" --data-dir "$WORK/delegated" \
    --authentication-kubeconfig "$WORK/double/kubeconfig" \
    --authorization-kubeconfig "$WORK/double/kubeconfig" \
    --authentication-token-webhook-cache-ttl 1h \
    --authorization-webhook-cache-authorized-ttl 1h 2>"$WORK/delegated.log" &
PIDS+=($!)
wait_ready "https://127.0.0.1:$port" "delegated foo-apiserver"
delegated="$(measure "https://127.0.0.1:$port" delegated)"

awk -v s="$standalone" -v d="$delegated" 'BEGIN {
    fmt = "%-48s %12s %12s %8s\n"
    printf fmt, "delegated GET one Foo (req/s) vs standalone", d, s, sprintf("%.2f", d / s)
}'
