#!/usr/bin/env bash
# Part 5 of `make bench` (run by bench/run.sh after its own table): the client's two watch
# transports beside each other and beside @kubernetes/client-node 1.4.0's Watch, in the same run.
# For 1 and for 1000 concurrent watches on foos, each client on a fresh standalone foo-apiserver:
#   - http:      kc_watch, chunked HTTP on libcurl, one transfer per watch (bench/ws_watch_bench.c)
#   - websocket: kc_ws_watch, every watch on one libwebsockets loop thread (the same program)
#   - node:      client-node's Watch, every watch on node's event loop (bench/ws_watch_node.mjs)
# Each opens its watches from the current resourceVersion, says "ready" once all have their
# answer, then an outside writer (ws_watch_bench write, its own process) creates EVENTS Foos one
# at a time and the watcher counts until every watch has seen every one. Measures:
#   CPU per event:   the watcher process's CPU over the event phase / events delivered (us)
#   memory per watch: the watcher's RSS growth from before the first watch to ready / watches (B)
# Ratios read "websocket is better when > 1": http / websocket and node / websocket.
# Output: a table on stdout; raw lines in bench/out/watch-transports.txt.
#
# Usage: bench/watch_transports.sh BUILD_DIR   (BUILD_DIR holds foo-apiserver and libfoo_*.a)
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh" "$@"
# Events per watch: enough deliveries for a stable CPU figure, few enough writes to stay short.
EVENTS_1=2000
EVENTS_1000=100
CLIENTS=(http websocket node)

raise_open_files $((2 * 1000 + 256))

WORK="$(mktemp -d "${TMPDIR:-/tmp}/foo-bench-watch.XXXXXX")"
SERVER_PID=""
WATCHER=""  # the pid of the running watcher (bash unsets a coproc's own _PID when it ends)
cleanup() {
    local pid
    for pid in $WATCHER $SERVER_PID; do stop_pid "$pid"; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$OUT"
: >"$OUT/watch-transports.txt"

echo "bench: building ws_watch_bench" >&2
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
cc "${CFLAGS[@]}" -I"$ROOT" -o "$WORK/ws_watch_bench" "$HERE/ws_watch_bench.c" \
    "$BUILD/libfoo_client.a" "$BUILD/libfoo_common.a" \
    $(pkg-config --libs libcurl libcjson yaml-0.1 openssl libwebsockets) -lpthread -lm

# A fresh standalone server in $WORK/data-$1; sets SERVER_PID and KUBECONFIG_FILE.
start_server() {
    local port data
    port="$(free_port)"
    data="$WORK/data-$1"
    "$BUILD/foo-apiserver" --standalone --data-dir "$data" --secure-port "$port" \
        --bind-address 127.0.0.1 >/dev/null 2>"$WORK/foo-apiserver-$1.log" &
    SERVER_PID=$!
    KUBECONFIG_FILE="$data/kubeconfig"
    for _ in $(seq 200); do [ -f "$KUBECONFIG_FILE" ] && break; sleep 0.1; done
    wait_ready "https://127.0.0.1:$port" foo-apiserver "$WORK/foo-apiserver-$1.log"
}

stop_server() {
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# One client ($1) with $2 watches and $3 events each; appends "client watches name value" lines.
measure() {
    local client="$1" watches="$2" events="$3" line
    start_server "$client-$watches"
    if [ "$client" = node ]; then
        coproc WATCH { node --expose-gc "$HERE/ws_watch_node.mjs" "$KUBECONFIG_FILE" \
            "$watches" "$events"; }
    else
        coproc WATCH { "$WORK/ws_watch_bench" watch --kubeconfig "$KUBECONFIG_FILE" \
            --transport "$client" --watches "$watches" --events "$events"; }
    fi
    # The coproc's fds and pid variable vanish when it ends: copy them first.
    WATCHER="$WATCH_PID"
    exec {from}<&"${WATCH[0]}"
    if ! read -r line <&"$from" || [ "$line" != ready ]; then
        echo "bench: $client with $watches watches did not get ready" >&2
        exit 1
    fi
    "$WORK/ws_watch_bench" write --kubeconfig "$KUBECONFIG_FILE" --count "$events" --prefix w
    while read -r line <&"$from"; do
        echo "$client $watches $line" >>"$OUT/watch-transports.txt"
    done
    exec {from}<&-
    wait "$WATCHER" || { echo "bench: $client with $watches watches failed" >&2; exit 1; }
    WATCHER=""
    stop_server
}

for client in "${CLIENTS[@]}"; do
    echo "bench: watch transports: $client, 1 watch, $EVENTS_1 events" >&2
    measure "$client" 1 "$EVENTS_1"
    echo "bench: watch transports: $client, 1000 watches, $EVENTS_1000 events each" >&2
    measure "$client" 1000 "$EVENTS_1000"
done

awk '
    { v[$1 " " $2 " " $3] = $4 }
    function ratio(a, b) { return (b > 0 && a != "") ? sprintf("%.2f", a / b) : "-" }
    function row(label, name, n) {
        h = v["http " n " " name]; w = v["websocket " n " " name]; j = v["node " n " " name]
        printf "%-34s %10s %10s %12s %11s %11s\n", label, h, w, j, ratio(h, w), ratio(j, w)
    }
    END {
        printf "%-34s %10s %10s %12s %11s %11s\n", "watch transports", "http", "websocket",
            "client-node", "http/ws", "node/ws"
        row("CPU us/event, 1 watch", "cpu_per_event", 1)
        row("CPU us/event, 1000 watches", "cpu_per_event", 1000)
        row("RSS B/watch, 1 watch", "rss_per_watch", 1)
        row("RSS B/watch, 1000 watches", "rss_per_watch", 1000)
    }' "$OUT/watch-transports.txt"
