#!/usr/bin/env bash
# Starts or stops a throwaway etcd for tests: Debian's etcd-server on loopback, a temporary data
# dir, free random ports.
#
#   scripts/etcd-test.sh start [DIR]   starts etcd with its state in DIR (default: a new temp dir),
#                                      waits until it answers, prints its client URL and the
#                                      state dir ("URL DIR"); etcd's log is DIR/etcd.log
#   scripts/etcd-test.sh stop DIR      stops the etcd started with that DIR (its pid is in
#                                      DIR/etcd.pid) and removes DIR
#   scripts/etcd-test.sh kill DIR      stops that etcd but keeps DIR: a later `start DIR`
#                                      restarts it with its data on the same ports (tests of
#                                      reconnection)
#
# TLS: with ETCD_TLS_DIR set to a dir holding ca.crt, server.crt and server.key, etcd serves
# https:// and requires client certificates signed by ca.crt.
# ETCD_PROGRESS_INTERVAL (a Go duration, e.g. 500ms) sets how often etcd sends watch progress
# notifications (etcd's default: 10m).
# Only ever stops the etcd it started itself (by the pid it recorded).
set -euo pipefail

ETCD=${ETCD:-/usr/bin/etcd}
WAIT_S=20
# Room for an object of ST_MAX_OBJECT_BYTES (1.5 MiB, etcd's own default limit) plus its key and
# the txn around it (docs/design.md §4.12).
MAX_REQUEST_BYTES=$((1536 * 1024 + 64 * 1024))

usage() {
    echo "usage: $0 start [DIR] | stop DIR | kill DIR" >&2
    exit 2
}

# A TCP port nobody listens on now (the kernel picks it; a race with another program taking it
# before etcd does is possible but unlikely, and start then fails loudly).
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start() {
    local dir="${1:-}"
    [ -n "$dir" ] || dir="$(mktemp -d "${TMPDIR:-/tmp}/foo-etcd.XXXXXX")"
    mkdir -p "$dir/data"
    local cport pport scheme=http extra=()
    if [ -f "$dir/etcd.ports" ]; then
        read -r cport pport <"$dir/etcd.ports" # a restart: same URL for the clients
    else
        cport="$(free_port)"
        pport="$(free_port)"
        echo "$cport $pport" >"$dir/etcd.ports"
    fi
    if [ -n "${ETCD_TLS_DIR:-}" ]; then
        scheme=https
        extra=(--cert-file "$ETCD_TLS_DIR/server.crt" --key-file "$ETCD_TLS_DIR/server.key"
             --trusted-ca-file "$ETCD_TLS_DIR/ca.crt" --client-cert-auth)
    fi
    if [ -n "${ETCD_PROGRESS_INTERVAL:-}" ]; then
        extra+=(--experimental-watch-progress-notify-interval "$ETCD_PROGRESS_INTERVAL")
    fi
    local url="$scheme://127.0.0.1:$cport"
    "$ETCD" --name foo-test --data-dir "$dir/data" \
        --listen-client-urls "$url" --advertise-client-urls "$url" \
        --listen-peer-urls "http://127.0.0.1:$pport" \
        --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
        --initial-cluster "foo-test=http://127.0.0.1:$pport" \
        --max-request-bytes "$MAX_REQUEST_BYTES" \
        --log-level warn --logger zap "${extra[@]}" >"$dir/etcd.log" 2>&1 &
    echo $! >"$dir/etcd.pid"
    echo "$url" >"$dir/etcd.url"
    local curl_tls=()
    if [ -n "${ETCD_TLS_DIR:-}" ]; then
        curl_tls=(--cacert "$ETCD_TLS_DIR/ca.crt" --cert "$ETCD_TLS_DIR/client.crt"
                  --key "$ETCD_TLS_DIR/client.key")
    fi
    local i
    for ((i = 0; i < WAIT_S * 10; i++)); do
        if curl -sf "${curl_tls[@]}" -X POST -d '{}' "$url/v3/maintenance/status" >/dev/null 2>&1; then
            echo "$url $dir"
            return 0
        fi
        if ! kill -0 "$(cat "$dir/etcd.pid")" 2>/dev/null; then
            echo "etcd-test: etcd exited; log:" >&2
            tail -n 20 "$dir/etcd.log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "etcd-test: etcd did not answer within ${WAIT_S}s at $url" >&2
    stop "$dir"
    return 1
}

# Ends the etcd whose pid DIR/etcd.pid records (the one this script started there).
end_etcd() {
    local dir="$1" pid i
    [ -f "$dir/etcd.pid" ] || { echo "etcd-test: no etcd.pid in $dir" >&2; return 1; }
    pid="$(cat "$dir/etcd.pid")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -CONT "$pid" 2>/dev/null || true # a test may have left it stopped
        kill "$pid"
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid"
            while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
        fi
    fi
}

stop() {
    end_etcd "$1" || return 1
    rm -rf "$1"
}

case "${1:-}" in
start) [ $# -le 2 ] || usage; start "${2:-}" ;;
stop) [ $# -eq 2 ] || usage; stop "$2" ;;
kill) [ $# -eq 2 ] || usage; end_etcd "$2" ;;
*) usage ;;
esac
