#!/usr/bin/env bash
# `make bench`: measures foo-apiserver beside baselines run on the same machine in the same run
# (DESIGN.md §8), and prints one table: measure, foo, baseline, ratio (foo / baseline).
#
#   (a) GET of one Foo            vs nginx (1 worker, HTTPS) serving the same bytes as a file
#   (b) LIST of 1000 Foos         vs nginx serving the same list bytes
#   (c) durable creates, 32 conns vs SQLite, one transaction per insert (WAL, synchronous=FULL),
#                                    32 threads (bench/sqlite_baseline.c)
#
# Load: wrk -t2 -c32 -d10s over HTTPS keep-alive. wrk cannot present client certificates, so the
# server gets a --token-auth-file with one bearer token in group system:masters.
# The whole run takes about 80 s; every process it starts is stopped on exit. Results go to
# stdout and bench/out/results.txt (raw wrk output beside it).
#
# Usage: bench/run.sh BUILD_DIR
set -euo pipefail

if [ $# -ne 1 ] || [ ! -x "$1/foo-apiserver" ]; then
    echo "usage: $0 BUILD_DIR   (BUILD_DIR/foo-apiserver must exist)" >&2
    exit 2
fi
BUILD="$(cd "$1" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="$HERE/out"
PYTHON=/usr/bin/python3
DURATION=10s
WRK=(wrk -t2 -c32 -d"$DURATION" --timeout 10s)
LIST_SIZE=1000
SQLITE_THREADS=32
SQLITE_SECONDS=10
ROW_BYTES=1024
TOKEN="bench-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"

for tool in wrk nginx openssl cc curl; do
    command -v "$tool" >/dev/null || { echo "bench: $tool not found (scripts/install-deps.sh)" >&2; exit 1; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/foo-bench.XXXXXX")"
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        # Bounded wait for each process we started; SIGKILL if it does not go.
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    # Keep the logs of what ran, for a look after a failure.
    cp "$WORK/foo-apiserver.log" "$OUT/foo-apiserver.log" 2>/dev/null || true
    cp "$WORK/nginx/error.log" "$OUT/nginx-error.log" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$OUT"
: >"$OUT/wrk.txt"

free_port() {
    "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- foo-apiserver, standalone, with a bearer token for wrk
FOO_PORT="$(free_port)"
FOO_URL="https://127.0.0.1:$FOO_PORT"
printf '%s,bench,bench-uid,"system:masters"\n' "$TOKEN" >"$WORK/tokens.csv"
"$BUILD/foo-apiserver" --standalone --data-dir "$WORK/data" --secure-port "$FOO_PORT" \
    --bind-address 127.0.0.1 --token-auth-file "$WORK/tokens.csv" 2>"$WORK/foo-apiserver.log" &
PIDS+=($!)
CA="$WORK/data/pki/ca.crt"
for _ in $(seq 200); do [ -f "$CA" ] && break; sleep 0.1; done
if ! "$PYTHON" "$HERE/fill.py" ready "$FOO_URL" "$CA" "$TOKEN" 20; then
    tail -n 20 "$WORK/foo-apiserver.log" >&2
    exit 1
fi

echo "bench: creating $LIST_SIZE Foos" >&2
"$PYTHON" "$HERE/fill.py" create "$FOO_URL" "$CA" "$TOKEN" "$LIST_SIZE" foo
GET_PATH="/apis/demo.example.com/v1beta1/foos/foo-00000"
LIST_PATH="/apis/demo.example.com/v1beta1/foos"
mkdir -p "$WORK/www"
"$PYTHON" "$HERE/fill.py" save "$FOO_URL" "$CA" "$TOKEN" "$GET_PATH" "$WORK/www/foo.json"
"$PYTHON" "$HERE/fill.py" save "$FOO_URL" "$CA" "$TOKEN" "$LIST_PATH" "$WORK/www/foos.json"

# ---- nginx: one worker, HTTPS, keep-alive, no access log, a throwaway EC P-256 certificate
# (the same key type as the server's generated one, so the TLS cost is comparable).
NGINX_PORT="$(free_port)"
NGX="$WORK/nginx"
mkdir -p "$NGX/tmp"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=127.0.0.1 -keyout "$NGX/key.pem" -out "$NGX/cert.pem" 2>/dev/null
chmod 755 "$WORK" "$WORK/www"
chmod 644 "$WORK/www/"*
cat >"$NGX/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    client_body_temp_path $NGX/tmp;
    proxy_temp_path $NGX/tmp;
    fastcgi_temp_path $NGX/tmp;
    default_type application/json;
    server {
        listen 127.0.0.1:$NGINX_PORT ssl;
        ssl_certificate $NGX/cert.pem;
        ssl_certificate_key $NGX/key.pem;
        root $WORK/www;
    }
}
EOF
nginx -e "$NGX/error.log" -p "$NGX" -c "$NGX/nginx.conf" &
PIDS+=($!)
NGINX_URL="https://127.0.0.1:$NGINX_PORT"
for _ in $(seq 100); do curl -skf -o /dev/null "$NGINX_URL/foo.json" && break; sleep 0.1; done
curl -skf -o "$WORK/check.json" "$NGINX_URL/foo.json" || { cat "$NGX/error.log" >&2; exit 1; }
cmp -s "$WORK/check.json" "$WORK/www/foo.json" || { echo "bench: nginx bytes differ" >&2; exit 1; }

# ---- measurements
# Runs wrk, appends its output to out/wrk.txt, prints Requests/sec. Fails on any non-2xx
# response or socket error, since those would make the rate meaningless.
run_wrk() {
    local label="$1"
    shift
    local log="$WORK/wrk-$label.txt"
    echo "bench: $label" >&2
    local rc=0
    "${WRK[@]}" "$@" >"$log" 2>&1 || rc=$?
    { echo "### $label: ${WRK[*]} $*"; cat "$log"; echo; } >>"$OUT/wrk.txt"
    if [ "$rc" -ne 0 ] || ! grep -q '^Requests/sec:' "$log" ||
        grep -q -E 'Non-2xx|Socket errors' "$log"; then
        echo "bench: $label failed (wrk exit $rc):" >&2
        grep -v -E '^ |^Running' "$log" >&2 || true
        exit 1
    fi
    if ! kill -0 "${PIDS[0]}" 2>/dev/null; then
        echo "bench: foo-apiserver died during $label; last lines of its log:" >&2
        tail -n 20 "$WORK/foo-apiserver.log" >&2
        exit 1
    fi
    awk '/^Requests\/sec:/ { print $2 }' "$log"
}

AUTH=(-H "Authorization: Bearer $TOKEN" -H "Accept: application/json")
get_foo="$(run_wrk get-foo "${AUTH[@]}" "$FOO_URL$GET_PATH")"
get_nginx="$(run_wrk get-nginx "${AUTH[@]}" "$NGINX_URL/foo.json")"
list_foo="$(run_wrk list-foo "${AUTH[@]}" "$FOO_URL$LIST_PATH")"
list_nginx="$(run_wrk list-nginx "${AUTH[@]}" "$NGINX_URL/foos.json")"
export FOO_TOKEN="$TOKEN" FOO_PREFIX=w # read by create.lua
create_foo="$(run_wrk create-foo -s "$HERE/create.lua" "$FOO_URL")"

echo "bench: sqlite baseline" >&2
cc -O2 -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -o "$WORK/sqlite_baseline" \
    "$HERE/sqlite_baseline.c" -lsqlite3 -pthread
sqlite_line="$("$WORK/sqlite_baseline" "$WORK/baseline.db" "$SQLITE_THREADS" "$SQLITE_SECONDS" \
    "$ROW_BYTES")"
create_sqlite="$(awk '{ print $6 }' <<<"$sqlite_line")"

# ---- report
list_bytes="$(stat -c %s "$WORK/www/foos.json")"
get_bytes="$(stat -c %s "$WORK/www/foo.json")"
{
    echo "# foo bench $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, git $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "# load: ${WRK[*]} over HTTPS keep-alive; GET body $get_bytes B, LIST body $list_bytes B ($LIST_SIZE Foos)"
    echo "# baseline of (c): $SQLITE_THREADS threads, one txn per ~$ROW_BYTES B insert, WAL, synchronous=FULL: $sqlite_line"
    awk -v gf="$get_foo" -v gn="$get_nginx" -v lf="$list_foo" -v ln="$list_nginx" \
        -v cf="$create_foo" -v cs="$create_sqlite" 'BEGIN {
        fmt = "%-36s %12s %12s %8s\n"
        printf fmt, "measure", "foo", "baseline", "ratio"
        printf fmt, "GET one Foo (req/s) vs nginx", gf, gn, sprintf("%.2f", gf / gn)
        printf fmt, "LIST 1000 Foos (req/s) vs nginx", lf, ln, sprintf("%.2f", lf / ln)
        printf fmt, "durable creates (/s) vs sqlite", cf, cs, sprintf("%.2f", cf / cs)
    }'
} | tee "$OUT/results.txt"
