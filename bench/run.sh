#!/usr/bin/env bash
# `make bench`: measures foo-apiserver beside baselines run on the same machine in the same run
# (docs/design.md §8), and prints one table: measure, foo, baseline, ratio. Every ratio reads "foo
# is better when > 1": foo/baseline for rates, baseline/foo for times and memory, target/foo
# for the §8 targets.
#
# Part 1, a server holding 1000 Foos:
#   (a) GET of one Foo            vs nginx (1 worker, HTTPS) serving the same bytes as a file
#   (b) LIST of 1000 Foos         vs nginx serving the same list bytes
#   (c) durable creates, 32 conns vs SQLite, one transaction per insert (WAL, synchronous=FULL),
#                                    32 threads (bench/sqlite_baseline.c)
# Part 2, a fresh server filled with 10 000 Foos by fill.py (once):
#   (d) apiserver RSS idle (right after startup) and with the 10 000 Foos (after a full LIST),
#       VmRSS from /proc, against the targets 10 MiB and 60 MiB
#   (e) LIST of 10 000 Foos, served from memory: req/s and MB/s (wrk, 8 connections, short run)
#   (f) our informer (bench/informer_bench.c) vs @kubernetes/client-node 1.4.0's makeInformer
#       (bench/informer_node.mjs, the copy npm ci put in test/e2e/node/), one after the other on
#       the same 10 000 Foos: sync time, memory per cached Foo, and live events/s while the same
#       writer (wrk + bench/patch.lua: PATCH as fast as it can for WRITER_DURATION) runs
#   (g) watch latency: WATCHERS concurrent watches, then WATCH_WRITES writes one at a time;
#       p50/p99 from write acknowledged to event received over every (watcher, write) pair
#       (bench/watch_latency.c), against the target p99 < 20 ms. An event read before its 200
#       counts 0 ms, so the share of such events and the p99 from write sent to event received
#       are printed too: when the server fans out before it answers the writer, they are the
#       meaningful numbers.
# Part 3, the controller-manager (bench/controller_bench.c), each half on a fresh server:
#   (h) 10 000 Foos created from CTL_THREADS threads while foo-controller-manager
#       --simulate-deployments (CTL_WORKERS workers per controller) runs: time from the first
#       create until every Foo has its Deployment and is Ready (an informer in controller_bench
#       watches), beside the limit: the same writes the manager makes for each Foo (Foo create,
#       finalizer, Deployment create, two Foo status patches, the simulated Deployment status,
#       one Event: 7 per Foo) sent straight to the server by a plain client (the same REST
#       client, the same bodies) from CTL_THREADS threads, as many as the manager's workers.
#       Goal: within 3x of the limit. Also CPU seconds (utime + stime of /proc/PID/stat over
#       the run) and peak RSS (VmHWM) of both programs; the manager's memory per cached object
#       (10 000 Foos + 10 000 Deployments) against the target 2 KB: its RSS growth over the run,
#       and the stores' own count of bytes (inf_store_bytes of informers with the manager's
#       options, synced once the run is over: the manager does not publish its own).
#
# Part 4, two replicas on one etcd (issue 10; etcd from scripts/etcd-test.sh, 1000 Foos):
#   (i) durable creates, 32 conns, through replica A  vs raw etcd puts of ~1 KB, 32 threads
#       (bench/etcd_baseline.c), goal >= 0.8x
#   (j) GET of one Foo and LIST of 1000 on replica B, consistent (no resourceVersion: each waits
#       for etcd's revision) and resourceVersion=0 (the cache as it is), beside (a) and (b)
#   (k) event latency from a write acknowledged by A to the event on B's WATCHERS watchers
# Part 5, the client's watch transports (bench/watch_transports.sh).
# Part 6, delegated authentication and authorization: GET with the reviews cached vs standalone
#   (bench/delegated.sh, against test/e2e/kube_double.py).
#
# Load: wrk over HTTPS keep-alive. wrk cannot present client certificates, so the servers get a
# --token-auth-file with one bearer token in group system:masters; the informers use the
# standalone admin kubeconfig (client certificate).
# The whole run takes about 4 minutes; every process it starts is stopped on exit. Results go to
# stdout and bench/out/results.txt (raw wrk output and each program's output beside it).
#
# Usage: bench/run.sh BUILD_DIR   (BUILD_DIR holds foo-apiserver and the libfoo_*.a libraries)
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh" "$@"
NODE_MODULES="$ROOT/test/e2e/node/node_modules/@kubernetes/client-node"
DURATION=10s
WRK=(wrk -t2 -c32 -d"$DURATION" --timeout 10s)
WRK_LIST_BIG=(wrk -t2 -c8 -d5s --timeout 10s)
WRITER_DURATION=5s
WRK_WRITER=(wrk -t1 -c16 -d"$WRITER_DURATION" --timeout 10s)
LIST_SIZE=1000
BIG_SIZE=10000
WATCHERS=1000
WATCH_WRITES=100
SQLITE_THREADS=32
CTL_WORKERS=2                      # foo-controller-manager's default --workers
CTL_THREADS=$((2 * CTL_WORKERS))   # its worker threads: the Foo controller's and the simulator's
CTL_TIMEOUT_S=600
SQLITE_SECONDS=10
ROW_BYTES=1024
TOKEN="bench-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"

for tool in wrk nginx openssl cc curl node pkg-config; do
    command -v "$tool" >/dev/null || { echo "bench: $tool not found (scripts/install-deps.sh)" >&2; exit 1; }
done
if [ ! -d "$NODE_MODULES" ]; then
    echo "bench: $NODE_MODULES missing (scripts/install-deps.sh runs npm ci there)" >&2
    exit 1
fi
for lib in foo_controllers foo_informer foo_client foo_workqueue foo_api foo_common; do
    if [ ! -f "$BUILD/lib$lib.a" ]; then
        echo "bench: $BUILD/lib$lib.a missing (make build)" >&2
        exit 1
    fi
done
if [ ! -x "$BUILD/foo-controller-manager" ]; then
    echo "bench: $BUILD/foo-controller-manager missing (make build)" >&2
    exit 1
fi

# 1000 watch connections on each side: this shell's limit is inherited by the server and by
# watch_latency, so raise it before anything starts (to the hard limit if that is lower).
raise_open_files $((2 * WATCHERS + 256))

WORK="$(mktemp -d "${TMPDIR:-/tmp}/foo-bench.XXXXXX")"
cleanup() {
    stop_started
    # Keep the logs of what ran, for a look after a failure.
    cp "$WORK/foo-apiserver.log" "$OUT/foo-apiserver.log" 2>/dev/null || true
    cp "$WORK/foo-apiserver-10k.log" "$OUT/foo-apiserver-10k.log" 2>/dev/null || true
    cp "$WORK/foo-apiserver-ctl.log" "$OUT/foo-apiserver-ctl.log" 2>/dev/null || true
    cp "$WORK/foo-apiserver-direct.log" "$OUT/foo-apiserver-direct.log" 2>/dev/null || true
    cp "$WORK/foo-apiserver-etcd-a.log" "$OUT/foo-apiserver-etcd-a.log" 2>/dev/null || true
    cp "$WORK/foo-apiserver-etcd-b.log" "$OUT/foo-apiserver-etcd-b.log" 2>/dev/null || true
    # etcd-test.sh stops only the etcd it started (its pid file) and removes its dir.
    [ -f "$WORK/etcd/etcd.pid" ] && bash "$ROOT/scripts/etcd-test.sh" stop "$WORK/etcd" >/dev/null 2>&1
    cp "$WORK/foo-controller-manager.log" "$OUT/foo-controller-manager.log" 2>/dev/null || true
    cp "$WORK/nginx/error.log" "$OUT/nginx-error.log" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$OUT"
: >"$OUT/wrk.txt"

# Starts a standalone foo-apiserver with a fresh data dir (name $1; two servers given the same
# name share it), log suffix $2, any further arguments as extra flags, and the bench token; sets
# SERVER_PID, SERVER_URL, SERVER_PORT, SERVER_CA, SERVER_DATA, SERVER_LOG; waits for /readyz.
start_server() {
    SERVER_PORT="$(free_port)"
    SERVER_URL="https://127.0.0.1:$SERVER_PORT"
    SERVER_DATA="$WORK/data-$1"
    SERVER_LOG="$WORK/foo-apiserver$2.log"
    SERVER_CA="$SERVER_DATA/pki/ca.crt"
    printf '%s,bench,bench-uid,"system:masters"\n' "$TOKEN" >"$WORK/tokens.csv"
    "$BUILD/foo-apiserver" --standalone --data-dir "$SERVER_DATA" --secure-port "$SERVER_PORT" \
        --bind-address 127.0.0.1 --token-auth-file "$WORK/tokens.csv" "${@:3}" 2>"$SERVER_LOG" &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    for _ in $(seq 200); do [ -f "$SERVER_CA" ] && break; sleep 0.1; done
    if ! "$PYTHON" "$HERE/fill.py" ready "$SERVER_URL" "$SERVER_CA" "$TOKEN" 20; then
        tail -n 20 "$SERVER_LOG" >&2
        exit 1
    fi
}

server_alive() {
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "bench: foo-apiserver died during $1; last lines of its log:" >&2
        tail -n 20 "$SERVER_LOG" >&2
        exit 1
    fi
}

# VmRSS of a process in KiB.
rss_kib() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# VmHWM (peak RSS) of a process in KiB.
hwm_kib() {
    awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

# CPU seconds (utime + stime) a process has used so far, from /proc/PID/stat: the fields after
# the command name, which ends at the last ')' (it may hold spaces).
cpu_s() {
    local stat
    stat="$(cat "/proc/$1/stat")"
    awk -v tck="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($12 + $13) / tck }' <<<"${stat##*) }"
}

# ---- measurements
# Runs wrk with the options in the array named $2 and the further arguments, and prints
# Requests/sec (lib.sh's wrk_rate: output in $WORK/wrk-LABEL.txt and out/wrk.txt, exit on any
# error); then exits unless the server survived the run.
run_wrk() {
    local label="$1"
    local -n opts="$2"
    shift 2
    wrk_rate "$label" "$OUT/wrk.txt" "${opts[@]}" "$@"
    server_alive "$label"
}

# The value of measure $2 in a "name value unit" file $1 (empty when absent).
value_of() {
    awk -v k="$2" '$1 == k { print $2; exit }' "$1"
}

# Runs one informer program (the command after the label) against the 10 000 Foos: waits
# (bounded) for its "ready" after the sync, runs the writer, tells it "stop W" on stdin (W =
# writes acknowledged), and waits (bounded) for its last lines. Output in out/informer-LABEL.txt.
run_informer() {
    local label="$1"
    shift
    local ctl="$WORK/$label.ctl" res="$OUT/informer-$label.txt" ctl_fd pid
    rm -f "$res"
    mkfifo "$ctl"
    echo "bench: informer $label (sync $BIG_SIZE Foos)" >&2
    "$@" <"$ctl" >"$res" 2>"$WORK/informer-$label.err" &
    pid=$!
    PIDS+=("$pid")
    exec {ctl_fd}>"$ctl"
    for _ in $(seq 1200); do
        grep -qx ready "$res" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if ! grep -qx ready "$res"; then
        echo "bench: informer $label did not sync:" >&2
        cat "$res" "$WORK/informer-$label.err" >&2
        exit 1
    fi
    export FOO_TOKEN="$TOKEN" FOO_PREFIX=foo FOO_COUNT="$BIG_SIZE" # read by patch.lua
    run_wrk "writer-$label" WRK_WRITER -s "$HERE/patch.lua" "$SERVER_URL" >/dev/null
    local acked
    acked="$(awk '/ requests in / { print $1; exit }' "$WORK/wrk-writer-$label.txt")"
    echo "stop $acked" >&"$ctl_fd"
    exec {ctl_fd}>&-
    for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    local rc=0
    kill -0 "$pid" 2>/dev/null && { echo "bench: informer $label did not finish" >&2; exit 1; }
    wait "$pid" || rc=$?
    if [ "$rc" -ne 0 ] || [ -z "$(value_of "$res" live_events_per_s)" ]; then
        echo "bench: informer $label failed (exit $rc):" >&2
        cat "$res" "$WORK/informer-$label.err" >&2
        exit 1
    fi
    echo "writer_writes_per_s $(awk '/^Requests\/sec:/ { print $2 }' \
        "$WORK/wrk-writer-$label.txt") req/s" >>"$res"
}

# ================================ part 1: 1000 Foos, baselines ================================
start_server main ""
echo "bench: creating $LIST_SIZE Foos" >&2
"$PYTHON" "$HERE/fill.py" create "$SERVER_URL" "$SERVER_CA" "$TOKEN" "$LIST_SIZE" foo
GET_PATH="/apis/demo.example.com/v1beta1/foos/foo-00000"
LIST_PATH="/apis/demo.example.com/v1beta1/foos"
mkdir -p "$WORK/www"
"$PYTHON" "$HERE/fill.py" save "$SERVER_URL" "$SERVER_CA" "$TOKEN" "$GET_PATH" "$WORK/www/foo.json"
"$PYTHON" "$HERE/fill.py" save "$SERVER_URL" "$SERVER_CA" "$TOKEN" "$LIST_PATH" "$WORK/www/foos.json"

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
NGINX_PID=$!
PIDS+=("$NGINX_PID")
NGINX_URL="https://127.0.0.1:$NGINX_PORT"
for _ in $(seq 100); do curl -skf -o /dev/null "$NGINX_URL/foo.json" && break; sleep 0.1; done
curl -skf -o "$WORK/check.json" "$NGINX_URL/foo.json" || { cat "$NGX/error.log" >&2; exit 1; }
cmp -s "$WORK/check.json" "$WORK/www/foo.json" || { echo "bench: nginx bytes differ" >&2; exit 1; }

AUTH=(-H "Authorization: Bearer $TOKEN" -H "Accept: application/json")
get_foo="$(run_wrk get-foo WRK "${AUTH[@]}" "$SERVER_URL$GET_PATH")"
get_nginx="$(run_wrk get-nginx WRK "${AUTH[@]}" "$NGINX_URL/foo.json")"
list_foo="$(run_wrk list-foo WRK "${AUTH[@]}" "$SERVER_URL$LIST_PATH")"
list_nginx="$(run_wrk list-nginx WRK "${AUTH[@]}" "$NGINX_URL/foos.json")"
export FOO_TOKEN="$TOKEN" FOO_PREFIX=w # read by create.lua
create_foo="$(run_wrk create-foo WRK -s "$HERE/create.lua" "$SERVER_URL")"
stop_pid "$NGINX_PID"
stop_pid "$SERVER_PID"

echo "bench: sqlite baseline" >&2
cc "${CFLAGS[@]}" -o "$WORK/sqlite_baseline" "$HERE/sqlite_baseline.c" -lsqlite3 -pthread
sqlite_line="$("$WORK/sqlite_baseline" "$WORK/baseline.db" "$SQLITE_THREADS" "$SQLITE_SECONDS" \
    "$ROW_BYTES")"
create_sqlite="$(awk '{ print $6 }' <<<"$sqlite_line")"

# ============================ part 2: a fresh server, 10 000 Foos =============================
echo "bench: building informer_bench and watch_latency" >&2
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
cc "${CFLAGS[@]}" -I"$ROOT" -o "$WORK/informer_bench" \
    "$HERE/informer_bench.c" "$BUILD/libfoo_informer.a" "$BUILD/libfoo_client.a" \
    "$BUILD/libfoo_common.a" $(pkg-config --libs libcurl libwebsockets libcjson yaml-0.1 openssl) -lpthread -lm
# shellcheck disable=SC2046
cc "${CFLAGS[@]}" -o "$WORK/watch_latency" "$HERE/watch_latency.c" \
    $(pkg-config --cflags --libs libcjson openssl) -lm -pthread

start_server big -10k
rss_idle="$(rss_kib "$SERVER_PID")"
echo "bench: creating $BIG_SIZE Foos" >&2
"$PYTHON" "$HERE/fill.py" create "$SERVER_URL" "$SERVER_CA" "$TOKEN" "$BIG_SIZE" foo
"$PYTHON" "$HERE/fill.py" save "$SERVER_URL" "$SERVER_CA" "$TOKEN" "$LIST_PATH" \
    "$WORK/foos-10k.json"
rss_big="$(rss_kib "$SERVER_PID")"
server_alive "fill"
big_items="$("$PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["items"]))' \
    "$WORK/foos-10k.json")"
[ "$big_items" -eq "$BIG_SIZE" ] || { echo "bench: LIST holds $big_items Foos" >&2; exit 1; }

list_big="$(run_wrk list-foo-10k WRK_LIST_BIG "${AUTH[@]}" "$SERVER_URL$LIST_PATH")"

KUBECONFIG_BIG="$SERVER_DATA/kubeconfig"
run_informer c "$WORK/informer_bench" --kubeconfig "$KUBECONFIG_BIG" --count "$BIG_SIZE" \
    --no-fill --live-stdin
run_informer node node --expose-gc "$HERE/informer_node.mjs" "$KUBECONFIG_BIG" "$BIG_SIZE"

echo "bench: watch latency, $WATCHERS watchers, $WATCH_WRITES writes" >&2
# Last on this server: closed watches are released by the server's hang-up sweep (every 5 s),
# and lws serves at most max_http_header_pool (1024) live requests, so a second batch of 1000
# watchers right after this one could wait for that sweep.
watch_line="$("$WORK/watch_latency" 127.0.0.1 "$SERVER_PORT" "$SERVER_CA" "$TOKEN" "$WATCHERS" \
    "$WATCH_WRITES" foo "$BIG_SIZE" "$SERVER_PID")"
server_alive "watch latency"
echo "$watch_line" >"$OUT/watch-latency.txt"
rss_after="$(rss_kib "$SERVER_PID")"
stop_pid "$SERVER_PID"

# ============================ part 3: the controller-manager ==================================
echo "bench: building controller_bench" >&2
# shellcheck disable=SC2046
cc "${CFLAGS[@]}" -I"$ROOT" -o "$WORK/controller_bench" "$HERE/controller_bench.c" \
    "$BUILD/libfoo_controllers.a" "$BUILD/libfoo_informer.a" "$BUILD/libfoo_client.a" \
    "$BUILD/libfoo_workqueue.a" "$BUILD/libfoo_api.a" "$BUILD/libfoo_common.a" \
    $(pkg-config --libs libcurl libwebsockets libcjson yaml-0.1 openssl) -lpthread -lm

start_server ctl -ctl
MGR_METRICS="127.0.0.1:$(free_port)"
MGR_PROBE="127.0.0.1:$(free_port)"
"$BUILD/foo-controller-manager" --kubeconfig "$SERVER_DATA/kubeconfig" --simulate-deployments \
    --workers "$CTL_WORKERS" --metrics-bind-address "$MGR_METRICS" \
    --health-probe-bind-address "$MGR_PROBE" 2>"$WORK/foo-controller-manager.log" &
MGR_PID=$!
PIDS+=("$MGR_PID")
# /readyz turns 200 once both (empty) caches have synced: the manager's baseline memory.
for _ in $(seq 200); do curl -sf -o /dev/null "http://$MGR_PROBE/readyz" && break; sleep 0.1; done
if ! curl -sf -o /dev/null "http://$MGR_PROBE/readyz"; then
    echo "bench: foo-controller-manager not ready; last lines of its log:" >&2
    tail -n 20 "$WORK/foo-controller-manager.log" >&2
    exit 1
fi
mgr_rss0="$(rss_kib "$MGR_PID")"
mgr_cpu0="$(cpu_s "$MGR_PID")"
echo "bench: controller-manager, $BIG_SIZE Foos to Ready" >&2
CTL_CONVERGE="$OUT/controller-converge.txt"
if ! "$WORK/controller_bench" converge --kubeconfig "$SERVER_DATA/kubeconfig" \
    --count "$BIG_SIZE" --threads "$CTL_THREADS" --timeout "$CTL_TIMEOUT_S" >"$CTL_CONVERGE"; then
    echo "bench: the controller-manager did not converge; last lines of its log:" >&2
    tail -n 20 "$WORK/foo-controller-manager.log" >&2
    exit 1
fi
server_alive "the controller run"
mgr_cpu="$(awk -v a="$mgr_cpu0" -v b="$(cpu_s "$MGR_PID")" 'BEGIN { printf "%.2f", b - a }')"
mgr_rss1="$(rss_kib "$MGR_PID")"
mgr_hwm="$(hwm_kib "$MGR_PID")"
curl -sf "http://$MGR_METRICS/metrics" >"$OUT/controller-metrics.txt"
# Writes the manager made (every exchange but GETs, which are its informers' LISTs and watches).
mgr_writes="$(awk '/^rest_client_requests_total\{/ && !/method="GET"/ { n += $NF }
    END { print n + 0 }' "$OUT/controller-metrics.txt")"
stop_pid "$MGR_PID"
stop_pid "$SERVER_PID"

start_server direct -direct
echo "bench: the same writes sent directly, $CTL_THREADS threads" >&2
CTL_DIRECT="$OUT/controller-direct.txt"
"$WORK/controller_bench" direct --kubeconfig "$SERVER_DATA/kubeconfig" --count "$BIG_SIZE" \
    --threads "$CTL_THREADS" >"$CTL_DIRECT"
server_alive "the direct writes"
stop_pid "$SERVER_PID"

# ============================ part 4: two replicas on one etcd ================================
echo "bench: etcd, two replicas" >&2
# shellcheck disable=SC2046
cc "${CFLAGS[@]}" -o "$WORK/etcd_baseline" "$HERE/etcd_baseline.c" \
    $(pkg-config --cflags --libs libcurl openssl) -pthread
etcd_started="$(bash "$ROOT/scripts/etcd-test.sh" start "$WORK/etcd")"
ETCD_URL="${etcd_started%% *}"
ETCD_FLAGS=(--storage etcd --etcd-servers "$ETCD_URL" --etcd-prefix /bench)
start_server etcd -etcd-a "${ETCD_FLAGS[@]}"
A_PID="$SERVER_PID" A_URL="$SERVER_URL" A_PORT="$SERVER_PORT"
start_server etcd -etcd-b "${ETCD_FLAGS[@]}"
B_PID="$SERVER_PID" B_URL="$SERVER_URL" B_PORT="$SERVER_PORT"
echo "bench: creating $LIST_SIZE Foos through replica A" >&2
"$PYTHON" "$HERE/fill.py" create "$A_URL" "$SERVER_CA" "$TOKEN" "$LIST_SIZE" foo
get_etcd="$(run_wrk get-foo-etcd WRK "${AUTH[@]}" "$B_URL$GET_PATH")"
get_etcd0="$(run_wrk get-foo-etcd-rv0 WRK "${AUTH[@]}" "$B_URL$GET_PATH?resourceVersion=0")"
list_etcd="$(run_wrk list-foo-etcd WRK "${AUTH[@]}" "$B_URL$LIST_PATH")"
list_etcd0="$(run_wrk list-foo-etcd-rv0 WRK "${AUTH[@]}" "$B_URL$LIST_PATH?resourceVersion=0")"
SERVER_PID="$A_PID" SERVER_LOG="$WORK/foo-apiserver-etcd-a.log"
export FOO_TOKEN="$TOKEN" FOO_PREFIX=e # read by create.lua
create_etcd="$(run_wrk create-foo-etcd WRK -s "$HERE/create.lua" "$A_URL")"
echo "bench: raw etcd puts, $SQLITE_THREADS threads" >&2
etcd_line="$("$WORK/etcd_baseline" "$ETCD_URL" /bench-raw "$SQLITE_THREADS" "$SQLITE_SECONDS" \
    "$ROW_BYTES" put)"
create_raw_etcd="$(awk '{ print $6 }' <<<"$etcd_line")"
echo "bench: raw etcd compare-and-put txns, $SQLITE_THREADS threads" >&2
etcd_cas_line="$("$WORK/etcd_baseline" "$ETCD_URL" /bench-cas "$SQLITE_THREADS" "$SQLITE_SECONDS" \
    "$ROW_BYTES" cas)"
create_cas_etcd="$(awk '{ print $6 }' <<<"$etcd_cas_line")"
echo "bench: etcd watch latency, write on A, $WATCHERS watchers on B" >&2
etcd_watch_line="$("$WORK/watch_latency" 127.0.0.1 "$B_PORT" "$SERVER_CA" "$TOKEN" "$WATCHERS" \
    "$WATCH_WRITES" foo "$LIST_SIZE" "$B_PID" "$A_PORT")"
echo "$etcd_watch_line" >"$OUT/watch-latency-etcd.txt"
stop_pid "$A_PID"
stop_pid "$B_PID"
bash "$ROOT/scripts/etcd-test.sh" stop "$WORK/etcd" >/dev/null

# ---- report
list_bytes="$(stat -c %s "$WORK/www/foos.json")"
get_bytes="$(stat -c %s "$WORK/www/foo.json")"
big_bytes="$(stat -c %s "$WORK/foos-10k.json")"
C="$OUT/informer-c.txt"
N="$OUT/informer-node.txt"
wl() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$watch_line"; }
ewl() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$etcd_watch_line"; }
{
    echo "# foo bench $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, git $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo '?'), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# ratio > 1 means foo is better: foo/baseline for rates, baseline/foo for times and memory, target/foo for targets"
    echo "# load: ${WRK[*]} over HTTPS keep-alive; GET body $get_bytes B, LIST body $list_bytes B ($LIST_SIZE Foos)"
    echo "# baseline of (c): $SQLITE_THREADS threads, one txn per ~$ROW_BYTES B insert, WAL, synchronous=FULL: $sqlite_line"
    echo "# $BIG_SIZE Foos: LIST body $big_bytes B, ${WRK_LIST_BIG[*]}"
    echo "# informers: writer ${WRK_WRITER[*]} -s patch.lua; PATCH/s in the C run" \
        "$(value_of "$C" writer_writes_per_s), in the node run" \
        "$(value_of "$N" writer_writes_per_s)" \
        "(live events/s cannot exceed them); events seen/writes acked:" \
        "C $(value_of "$C" live_events)/$(value_of "$C" live_writes_acked)," \
        "node $(value_of "$N" live_events)/$(value_of "$N" live_writes_acked)"
    echo "# informers: C store = its own count (compact JSON + header, managedFields dropped);" \
        "node heap = heapUsed growth after gc(); RSS = process growth over the sync;" \
        "node syncs by one unpaged LIST; C decode alone (no network):" \
        "$(value_of "$C" decode_events_per_s) ev/s"
    echo "# watch: $watch_line; apiserver RSS after all of part 2: $((rss_after / 1024)) MiB"
    echo "# controller: $BIG_SIZE Foos created from $CTL_THREADS threads (the creates alone took" \
        "$(value_of "$CTL_CONVERGE" create_seconds) s), manager --workers $CTL_WORKERS" \
        "--simulate-deployments; writes: $BIG_SIZE creates + manager $mgr_writes" \
        "(rest_client_requests_total but GET), direct client $(value_of "$CTL_DIRECT" direct_writes)" \
        "from $CTL_THREADS threads ($(value_of "$CTL_DIRECT" direct_writes_per_s) req/s);" \
        "goal: time within 3x of direct (ratio >= 0.33)"
    echo "# etcd: two replicas (A writes, B serves reads and watches), baseline of creates:" \
        "$SQLITE_THREADS threads of raw ~$ROW_BYTES B puts to the gateway: $etcd_line;" \
        "and of raw compare-and-put txns (the ceiling of any create that cannot overwrite):" \
        "$etcd_cas_line; goal >= 0.8x of puts; GET/LIST on B beside part 1's SQLite figures; watch: $etcd_watch_line"
    echo "# controller cache at the end: $(value_of "$CTL_CONVERGE" foos) Foos of" \
        "$(value_of "$CTL_CONVERGE" foos_store_bytes_per_obj) B and" \
        "$(value_of "$CTL_CONVERGE" deployments) Deployments of" \
        "$(value_of "$CTL_CONVERGE" deployments_store_bytes_per_obj) B (the store's own count," \
        "informers with the manager's options); manager RSS $((mgr_rss0 / 1024)) MiB synced and" \
        "empty, $((mgr_rss1 / 1024)) MiB at the end"
    awk -v gf="$get_foo" -v gn="$get_nginx" -v lf="$list_foo" -v ln="$list_nginx" \
        -v cf="$create_foo" -v cs="$create_sqlite" -v lb="$list_big" -v bb="$big_bytes" \
        -v ri="$rss_idle" -v rb="$rss_big" -v wp50="$(wl ack_to_event_p50_ms)" \
        -v wp99="$(wl ack_to_event_p99_ms)" -v ws99="$(wl sent_to_event_p99_ms)" \
        -v wa99="$(wl sent_to_ack_p99_ms)" -v wearly="$(wl early)" -v wpairs="$(wl pairs)" \
        -v cs_s="$(value_of "$C" sync_watch_list_seconds)" \
        -v ns_s="$(value_of "$N" sync_list_seconds)" \
        -v cl_s="$(value_of "$C" sync_list_seconds)" \
        -v cst="$(value_of "$C" store_bytes_per_obj)" -v nheap="$(value_of "$N" heap_per_obj)" \
        -v crss="$(value_of "$C" rss_per_obj)" -v nrss="$(value_of "$N" rss_per_obj)" \
        -v cev="$(value_of "$C" live_events_per_s)" -v nev="$(value_of "$N" live_events_per_s)" \
        -v ccpu="$(value_of "$C" live_cpu_us_per_event)" \
        -v ncpu="$(value_of "$N" live_cpu_us_per_event)" \
        -v cconv="$(value_of "$CTL_CONVERGE" converge_seconds)" \
        -v cdir="$(value_of "$CTL_DIRECT" direct_seconds)" \
        -v ccpu_m="$mgr_cpu" -v ccpu_d="$(value_of "$CTL_DIRECT" cpu_seconds)" \
        -v chwm_m="$mgr_hwm" -v chwm_d="$(value_of "$CTL_DIRECT" peak_rss_kib)" \
        -v crss0="$mgr_rss0" -v crss1="$mgr_rss1" \
        -v cfs="$(value_of "$CTL_CONVERGE" foos_store_bytes_per_obj)" \
        -v cds="$(value_of "$CTL_CONVERGE" deployments_store_bytes_per_obj)" \
        -v ge="$get_etcd" -v ge0="$get_etcd0" -v le="$list_etcd" -v le0="$list_etcd0" \
        -v ce="$create_etcd" -v cre="$create_raw_etcd" -v cce="$create_cas_etcd" \
        -v ewp50="$(ewl ack_to_event_p50_ms)" \
        -v ewp99="$(ewl ack_to_event_p99_ms)" -v ews99="$(ewl sent_to_event_p99_ms)" \
        -v n="$BIG_SIZE" -v w="$WATCHERS" '
    # a / b with two decimals; "inf" when b is 0 (a 0 ms latency), "-" when either is missing
    function ratio(a, b) {
        if (a == "" || b == "" || b + 0 < 0)
            return "-"
        return b + 0 == 0 ? "inf" : sprintf("%.2f", a / b)
    }
    BEGIN {
        fmt = "%-48s %12s %12s %8s\n"
        printf fmt, "measure", "foo", "baseline", "ratio"
        printf fmt, "GET one Foo (req/s) vs nginx", gf, gn, ratio(gf, gn)
        printf fmt, "LIST 1000 Foos (req/s) vs nginx", lf, ln, ratio(lf, ln)
        printf fmt, "durable creates (/s) vs sqlite", cf, cs, ratio(cf, cs)
        printf fmt, "LIST " n " Foos (req/s), 8 conns", lb, "-", "-"
        printf fmt, "LIST " n " Foos (MB/s), 8 conns", sprintf("%.1f", lb * bb / 1e6), "-", "-"
        printf fmt, "apiserver idle RSS (MiB) vs target", sprintf("%.1f", ri / 1024), 10,
            ratio(10 * 1024, ri)
        printf fmt, "apiserver RSS " n " Foos (MiB) vs target", sprintf("%.1f", rb / 1024), 60,
            ratio(60 * 1024, rb)
        printf fmt, "watch 200->event p50 (ms), " w " watchers", wp50, "-", "-"
        printf fmt, "watch 200->event p99 (ms) vs target", wp99, 20, ratio(20, wp99)
        printf fmt, "watch events read before their 200 (%)",
            (wpairs > 0 ? sprintf("%.1f", 100 * wearly / wpairs) : "-"), "-", "-"
        printf fmt, "watch sent->event p99 (ms) vs target", ws99, 20, ratio(20, ws99)
        printf fmt, "PATCH sent->200 p99 (ms), " w " watchers", wa99, "-", "-"
        printf fmt, "informer sync " n " (s), watch-list vs node", cs_s, ns_s, ratio(ns_s, cs_s)
        printf fmt, "informer sync " n " (s), paged LIST vs node", cl_s, ns_s, ratio(ns_s, cl_s)
        printf fmt, "informer B/Foo: store vs node heap", cst, nheap, ratio(nheap, cst)
        printf fmt, "informer RSS B/Foo vs client-node", crss, nrss, ratio(nrss, crss)
        printf fmt, "informer live events/s vs client-node", cev, nev, ratio(cev, nev)
        printf fmt, "informer CPU us/event (live) vs client-node", ccpu, ncpu, ratio(ncpu, ccpu)
        printf fmt, "controller " n " Foos to Ready (s) vs direct", cconv, cdir, ratio(cdir, cconv)
        printf fmt, "controller CPU (s) vs direct client", ccpu_m, ccpu_d, ratio(ccpu_d, ccpu_m)
        printf fmt, "controller peak RSS (MiB) vs direct client", sprintf("%.1f", chwm_m / 1024),
            sprintf("%.1f", chwm_d / 1024), ratio(chwm_d, chwm_m)
        printf fmt, "controller cache B/object (store) vs target", sprintf("%.0f", (cfs + cds) / 2),
            2048, ratio(2048, (cfs + cds) / 2)
        printf fmt, "controller RSS B/cached object vs target",
            sprintf("%.0f", (crss1 - crss0) * 1024 / (2 * n)), 2048,
            ratio(2048, (crss1 - crss0) * 1024 / (2 * n))
        printf fmt, "etcd: durable creates (/s) vs raw etcd puts", ce, cre, ratio(ce, cre)
        printf fmt, "etcd: durable creates (/s) vs raw CAS txns", ce, cce, ratio(ce, cce)
        printf fmt, "etcd: GET one Foo, replica B (req/s) vs sqlite", ge, gf, ratio(ge, gf)
        printf fmt, "etcd: GET ?resourceVersion=0 (req/s) vs sqlite", ge0, gf, ratio(ge0, gf)
        printf fmt, "etcd: LIST 1000, replica B (req/s) vs sqlite", le, lf, ratio(le, lf)
        printf fmt, "etcd: LIST ?resourceVersion=0 (req/s) vs sqlite", le0, lf, ratio(le0, lf)
        printf fmt, "etcd: write on A -> event on B p50 (ms)", ewp50, "-", "-"
        printf fmt, "etcd: write on A -> event on B p99 (ms)", ewp99, 20, ratio(20, ewp99)
        printf fmt, "etcd: sent on A -> event on B p99 (ms)", ews99, 20, ratio(20, ews99)
    }'
} | tee "$OUT/results.txt"

# ============================ part 5: the client's watch transports ===========================
# http vs websocket vs client-node, 1 and 1000 watches (bench/watch_transports.sh explains).
"$HERE/watch_transports.sh" "$BUILD" | tee -a "$OUT/results.txt"

# ============================ part 6: delegated authentication and authorization ===============
# GET with cached TokenReview and SubjectAccessReview vs standalone (bench/delegated.sh explains).
"$HERE/delegated.sh" "$BUILD" | tee -a "$OUT/results.txt"
