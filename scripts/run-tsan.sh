#!/usr/bin/env bash
# Configures a ThreadSanitizer tree (-DFOO_TSAN=ON) in BUILD_DIR, builds its tsan_tests target
# (every tsan_* binary and the libraries they need) and runs every tsan_* binary in it:
#   - tsan_unit_<part>: the unit tests of the threaded parts on the Criterion shim
#     (test/tsan/shim); each prints a Criterion "[====] Synthesis: ..." line;
#   - tsan_<name>: the plain stress programs of test/tsan/*.c (exit status only).
# Prints one line per binary and a last line "N passed, N failed" (tests of the unit binaries,
# one per plain program); exits non-zero on any failure, crash, timeout or TSan report. Logs stay
# in a temp dir whose path is printed; a failing binary also prints its first report.
#
# Usage: scripts/run-tsan.sh BUILD_DIR
# Environment: TSAN_OPTIONS (appended to ours, so it can override them), FOO_TSAN_BUILD_TYPE
#   (default RelWithDebInfo), FOO_TSAN_TIMEOUT_S (per binary, default 900), JOBS (default nproc).
set -uo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$1" || exit 2
BUILD="$(cd "$1" && pwd)"
BUILD_TYPE="${FOO_TSAN_BUILD_TYPE:-RelWithDebInfo}"
TIMEOUT_S="${FOO_TSAN_TIMEOUT_S:-900}"
JOBS="${JOBS:-$(nproc)}"
# halt_on_error: the first report ends the binary (exit 66), so it cannot scroll by unnoticed.
# second_deadlock_stack: lock-order reports show both acquisitions.
OPTS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"

# Refuse to turn an ASan tree into a TSan one (the two cannot share a directory).
if grep -q '^FOO_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
    echo "run-tsan: $BUILD is a -DFOO_SANITIZE=ON build; give a separate directory" >&2
    exit 2
fi

LOGDIR="$(mktemp -d "${TMPDIR:-/tmp}/foo-tsan.XXXXXX")"
echo "run-tsan: logs in $LOGDIR"
start=$(date +%s)
if ! cmake -S "$ROOT" -B "$BUILD" -DFOO_TSAN=ON -DFOO_SANITIZE=OFF \
    -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >"$LOGDIR/configure.log" 2>&1; then
    echo "run-tsan: configure failed:"
    tail -n 30 "$LOGDIR/configure.log"
    echo "0 passed, 1 failed"
    exit 1
fi
# The client and informer programs talk to a real server: the TSan-built one, so that its
# threads are checked too.
if ! cmake --build "$BUILD" --target tsan_tests foo-apiserver -j "$JOBS" >"$LOGDIR/build.log" 2>&1; then
    echo "run-tsan: build failed:"
    grep -a -E 'error|Error' "$LOGDIR/build.log" | head -n 30
    echo "0 passed, 1 failed"
    exit 1
fi
echo "run-tsan: built in $(($(date +%s) - start)) s"

export FOO_APISERVER="$BUILD/foo-apiserver"
passed=0
failed=0

# Shows why a binary failed: its first TSan report, else its failed checks, else its last lines.
show_failure() {
    local log="$1"
    if grep -a -q 'WARNING: ThreadSanitizer' "$log"; then
        # The first report, from its WARNING line to its SUMMARY line (at most 80 lines).
        awk '/WARNING: ThreadSanitizer/ { p = 1 } p { print; n++ }
             (p && /SUMMARY: ThreadSanitizer/) || n >= 80 { exit }' "$log"
    elif grep -a -q -E '^\[(FAIL|----)\]' "$log"; then
        grep -a -E '^\[(FAIL|----|RUN )\]' "$log" | grep -a -B 1 -A 4 -E '^\[(FAIL|----)\]' |
            head -n 40
    else
        tail -n 30 "$log"
    fi
}

# Runs one binary and adds its counts; rc 124/137 is timeout(1), 66 TSan's exit code.
run_one() {
    local bin="$1" name log rc synth p f c
    name="$(basename "$bin")"
    log="$LOGDIR/$name.log"
    TSAN_OPTIONS="$OPTS" timeout -k 10 "$TIMEOUT_S" "$bin" >"$log" 2>&1
    rc=$?
    synth="$(grep -a 'Synthesis: Tested:' "$log" | tail -n 1)"
    p=0 f=0 c=0
    if [ -n "$synth" ]; then
        p="$(sed -E 's/.*Passing: ([0-9]+).*/\1/' <<<"$synth")"
        f="$(sed -E 's/.*Failing: ([0-9]+).*/\1/' <<<"$synth")"
        c="$(sed -E 's/.*Crashing: ([0-9]+).*/\1/' <<<"$synth")"
        # Criterion counts a crashed test among the failing ones too.
        [ "$c" -gt "$f" ] && f="$c"
    fi
    if [ "$rc" -eq 0 ] && [ "$f" -eq 0 ] && ! grep -a -q 'ThreadSanitizer:' "$log"; then
        if [ -n "$synth" ]; then
            echo "run-tsan: $name: ${synth#*Synthesis: }"
            passed=$((passed + p))
        else
            echo "run-tsan: $name: ok (plain program, exit 0)"
            passed=$((passed + 1))
        fi
        return
    fi
    case "$rc" in
    66) why="ThreadSanitizer report" ;;
    124 | 137) why="timed out after ${TIMEOUT_S}s" ;;
    *) why="exit $rc" ;;
    esac
    grep -a -q 'WARNING: ThreadSanitizer' "$log" && why="ThreadSanitizer report"
    if [ -n "$synth" ]; then
        echo "run-tsan: $name: FAILED ($why): ${synth#*Synthesis: }"
    else
        echo "run-tsan: $name: FAILED ($why), last test: $(grep -a '^\[RUN \]' "$log" | tail -n 1)"
    fi
    show_failure "$log"
    passed=$((passed + p))
    # A binary that died before its synthesis line, or with a report after it, counts once more.
    failed=$((failed + (f > 0 ? f : 1)))
}

shopt -s nullglob
ran=0
for bin in "$BUILD"/tsan_*; do
    if [ -f "$bin" ] && [ -x "$bin" ]; then
        run_one "$bin"
        ran=$((ran + 1))
    fi
done
if [ "$ran" -eq 0 ]; then
    echo "run-tsan: no tsan_* binary in $BUILD"
    failed=$((failed + 1))
fi
echo "run-tsan: build and run took $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
