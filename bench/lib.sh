# bench/lib.sh - what the bench scripts (run.sh, watch_transports.sh, delegated.sh) share:
# the argument check and the paths, free ports, stopping the processes a script started,
# waiting for a server's /readyz, and one checked wrk run. Sourced, never run:
#
#   source "$(dirname "$0")/lib.sh" "$@"
#
# Sourcing it checks the arguments (exit 2 with the usage unless $1 is a build dir holding an
# executable foo-apiserver) and sets BUILD (that dir, absolute), HERE (bench/), ROOT (the
# repository), OUT (bench/out/), PYTHON (Debian's python3) and CFLAGS (for the bench programs
# the scripts compile with cc). Each script keeps its own WORK directory and EXIT trap.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this file

if [ $# -ne 1 ] || [ ! -x "$1/foo-apiserver" ]; then
    echo "usage: $0 BUILD_DIR   (BUILD_DIR/foo-apiserver must exist)" >&2
    exit 2
fi
BUILD="$(cd "$1" && pwd)"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
OUT="$HERE/out"
PYTHON=/usr/bin/python3
CFLAGS=(-O2 -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow)
PIDS=() # processes to stop on exit (stop_started)

# Raises this shell's open-file limit to at least $1 (to the hard limit if that is lower): the
# limit is inherited by every process started afterwards, so call it before starting any.
raise_open_files() {
    if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$1" ]; then
        ulimit -n "$1" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    fi
}

# Prints a TCP port free on 127.0.0.1 right now (the kernel's pick).
free_port() {
    "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Stops one process we started: SIGTERM, bounded wait (10 s), SIGKILL, then reaps it.
stop_pid() {
    local pid="$1"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Stops every process in PIDS: SIGTERM to all of them first, so they wind down together, then
# stop_pid each (a bounded wait apiece). For a script's EXIT trap.
stop_started() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
}

# Waits (bounded, 20 s) until $1/readyz answers "ok"; $2 names the server in the error. On
# timeout prints the error (and the last lines of the log $3 when given) and exits 1.
wait_ready() {
    for _ in $(seq 200); do
        curl -sk --max-time 1 "$1/readyz" 2>/dev/null | grep -qx ok && return 0
        sleep 0.1
    done
    echo "bench: $2 did not become ready" >&2
    if [ $# -ge 3 ]; then
        echo "bench: last lines of its log:" >&2
        tail -n 20 "$3" >&2
    fi
    exit 1
}

# Runs the wrk command given after the label ($1) and the file ($2) that collects every run's
# output: leaves wrk's output in $WORK/wrk-LABEL.txt, appends it to $2 under "### LABEL:
# COMMAND", and prints Requests/sec. Exits 1 on a wrk failure, on any non-2xx answer or socket
# error (they would make the rate meaningless), printing wrk's summary.
wrk_rate() {
    local label="$1" collect="$2"
    shift 2
    local log="$WORK/wrk-$label.txt" rc=0
    echo "bench: $label" >&2
    "$@" >"$log" 2>&1 || rc=$?
    { echo "### $label: $*"; cat "$log"; echo; } >>"$collect"
    if [ "$rc" -ne 0 ] || ! grep -q '^Requests/sec:' "$log" ||
        grep -q -E 'Non-2xx|Socket errors' "$log"; then
        echo "bench: $label failed (wrk exit $rc):" >&2
        grep -v -E '^ |^Running' "$log" >&2 || true
        exit 1
    fi
    awk '/^Requests\/sec:/ { print $2 }' "$log"
}
