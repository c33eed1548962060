#!/usr/bin/env bash
# Runs every test of foo against one build directory:
#   1. each BUILD_DIR/unit_* Criterion binary (its "[====] Synthesis: ..." line is parsed), and
#      unit_storage once more against a throwaway etcd,
#   2. each BUILD_DIR/replay_* fuzz target on its corpus and regressions (one check per target),
#   3. the end-to-end suite: /usr/bin/python3 -m pytest test/e2e (FOO_BUILD=BUILD_DIR), then its
#      walkthrough and conformance files again with every server on etcd,
#   4. when TSAN_BUILD_DIR is given, the ThreadSanitizer programs (scripts/run-tsan.sh).
# Prints a last line "N passed, N failed" and exits non-zero if anything failed or nothing ran.
# Logs (unit test output, pytest output, one log per foo-apiserver run) stay in a temp dir whose
# path is printed; a failing e2e test also prints the tail of its servers' logs.
#
# Usage: scripts/run-tests.sh BUILD_DIR [TSAN_BUILD_DIR]
set -uo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ ! -d "$1" ]; then
    echo "usage: $0 BUILD_DIR [TSAN_BUILD_DIR]" >&2
    exit 2
fi
BUILD="$(cd "$1" && pwd)"
TSAN_BUILD="${2:-}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON=/usr/bin/python3           # Debian's python: the pyenv one on PATH lacks dist-packages
E2E_TIMEOUT_S=1500                # a hung suite must not hang `make test` forever
LOGDIR="$(mktemp -d "${TMPDIR:-/tmp}/foo-tests.XXXXXX")"
echo "run-tests: logs in $LOGDIR"

passed=0
failed=0

# Whether the only sanitizer report in LOG is LeakSanitizer's about Criterion's own runner: every
# leaked block allocated straight from libcriterion (frame #0 the allocator, every later frame in
# libcriterion.so). Criterion 2.4.1's parent process sometimes leaks such a block when tests run
# in parallel; a leak of ours always has a frame of our binary, so it never matches.
only_criterion_runner_leaks() {
    local log="$1"
    grep -q -a 'ERROR: LeakSanitizer' "$log" || return 1
    grep -a -v -E 'LeakSanitizer|SUMMARY: AddressSanitizer: [0-9]+ byte\(s\) leaked' "$log" |
        grep -q -a -E 'AddressSanitizer|runtime error|ThreadSanitizer' && return 1
    awk '/ERROR: LeakSanitizer/ { on = 1; next }
         on && /^ *#[0-9]+ / {
             frames++
             if ($1 == "#0") { if ($0 !~ /(alloc|interceptor)/) bad = 1 }
             else if ($0 !~ /libcriterion\.so/) bad = 1
         }
         END { exit (frames > 0 && !bad) ? 0 : 1 }' "$log"
}

# Adds the counts of one Criterion binary. Its exit status catches what the synthesis line
# cannot: a crash of the runner itself or a sanitizer report at exit.
run_unit() {
    local bin="$1" name log synth p f c rc
    name="$(basename "$bin")"
    log="$LOGDIR/$name.log"
    "$bin" >"$log" 2>&1
    rc=$?
    synth="$(grep -a 'Synthesis: Tested:' "$log" | tail -n 1)"
    if [ -z "$synth" ]; then
        echo "run-tests: $name: no Criterion synthesis line (exit $rc); last lines:"
        tail -n 30 "$log"
        failed=$((failed + 1))
        return
    fi
    p="$(sed -E 's/.*Passing: ([0-9]+).*/\1/' <<<"$synth")"
    f="$(sed -E 's/.*Failing: ([0-9]+).*/\1/' <<<"$synth")"
    c="$(sed -E 's/.*Crashing: ([0-9]+).*/\1/' <<<"$synth")"
    # Criterion counts a crashed test among the failing ones already.
    passed=$((passed + p))
    failed=$((failed + f))
    echo "run-tests: $name: $p passed, $f failed"
    if [ "$f" -ne 0 ] || [ "$c" -ne 0 ]; then
        grep -a -E '\[(FAIL|----)\]|CRASH|Assertion|Sanitizer|runtime error' "$log" | head -n 60
    elif [ "$rc" -ne 0 ] && only_criterion_runner_leaks "$log"; then
        echo "run-tests: $name: Criterion's runner leaked a block of its own (not our code;" \
            "see only_criterion_runner_leaks)"
    elif [ "$rc" -ne 0 ]; then
        echo "run-tests: $name exited with $rc although every test passed; last lines:"
        tail -n 30 "$log"
        failed=$((failed + 1))
    fi
}

shopt -s nullglob
for bin in "$BUILD"/unit_*; do
    [ -x "$bin" ] && [ -f "$bin" ] && run_unit "$bin"
done

# The storage suite a second time, against a throwaway etcd (scripts/etcd-test.sh: Debian's
# etcd-server on loopback, random ports, a temp data dir), reported as unit_storage@etcd. The
# etcd is stopped afterwards, also when the tests fail or this script is interrupted.
ETCD_DIR=""
stop_test_etcd() {
    [ -n "$ETCD_DIR" ] && "$ROOT/scripts/etcd-test.sh" stop "$ETCD_DIR" >/dev/null 2>&1
    ETCD_DIR=""
}
run_unit_storage_on_etcd() {
    local out url link="$LOGDIR/unit_storage@etcd"
    [ -x "$BUILD/unit_storage" ] || return 0
    if ! out="$("$ROOT/scripts/etcd-test.sh" start 2>"$LOGDIR/etcd-start.log")"; then
        echo "run-tests: unit_storage@etcd: etcd did not start:"
        tail -n 20 "$LOGDIR/etcd-start.log"
        failed=$((failed + 1))
        return
    fi
    url="${out%% *}"
    ETCD_DIR="${out#* }"
    trap stop_test_etcd EXIT
    ln -sf "$BUILD/unit_storage" "$link"
    FOO_TEST_STORAGE=etcd FOO_TEST_ETCD="$url" run_unit "$link"
    stop_test_etcd
    trap - EXIT
}
run_unit_storage_on_etcd

# Fuzz corpora and crash regressions (fuzz/README.md): BUILD_DIR/replay_<name> runs the target
# fuzz/fuzz_<name>.c once on every file of fuzz/corpus/<name>/ and fuzz/regressions/<name>/
# under the build's sanitizers; one check per target. A target without its replay binary fails.
run_replay() {
    local name="$1" bin="$BUILD/replay_$1" log="$LOGDIR/replay_$1.log" line rc
    if [ ! -x "$bin" ]; then
        echo "run-tests: replay_$name: not built"
        failed=$((failed + 1))
        return
    fi
    "$bin" "$ROOT/fuzz/corpus/$name" "$ROOT/fuzz/regressions/$name" >"$log" 2>&1
    rc=$?
    line="$(grep -a -E '^replay: [0-9]+ inputs, ok$' "$log" | tail -n 1)"
    if [ "$rc" -eq 0 ] && [ -n "$line" ]; then
        passed=$((passed + 1))
        echo "run-tests: replay_$name: ${line#replay: }"
    else
        failed=$((failed + 1))
        echo "run-tests: replay_$name: failed (exit $rc); last lines:"
        tail -n 30 "$log"
    fi
}
for src in "$ROOT"/fuzz/fuzz_*.c; do
    name="$(basename "$src" .c)"
    run_replay "${name#fuzz_}"
done

# Style: every C file follows .clang-format (one check).
fmt_log="$LOGDIR/clang-format.log"
(cd "$ROOT" && git ls-files -z '*.c' '*.h' | xargs -0 clang-format --dry-run --Werror) \
    >"$fmt_log" 2>&1
if [ $? -eq 0 ]; then
    passed=$((passed + 1))
    echo "run-tests: clang-format: every C file is formatted"
else
    failed=$((failed + 1))
    echo "run-tests: clang-format: files not formatted (make format fixes them):"
    grep -a -o -E '^[^:]+\.[ch]' "$fmt_log" | sort -u | head -n 20
fi

# A repository check: runs SCRIPT; one pass when it exits 0, else one failure with its output.
run_check() {
    local name="$1" script="$2" ok_text="$3" fail_text="$4" log="$LOGDIR/$1.log"
    if "$ROOT/scripts/$script" >"$log" 2>&1; then
        passed=$((passed + 1))
        echo "run-tests: $name: $ok_text"
    else
        failed=$((failed + 1))
        echo "run-tests: $name: $fail_text"
        head -n 20 "$log"
    fi
}

# The repository stands on its own: code, tests and scripts cite docs/, never outside notes.
run_check citations check-citations.sh "every note cited is in docs/" \
    "citations of notes outside the repository (docs/README.md lists ours):"
# The folders' dependency rules (docs/design.md §5), read from the #include lines.
run_check layers check-layers.sh "every #include follows the folder rules" \
    "includes that break the folder rules (docs/design.md §5):"

# ThreadSanitizer programs (their own build; Criterion cannot run under TSan).
if [ -n "$TSAN_BUILD" ]; then
    tlog="$LOGDIR/tsan.log"
    "$ROOT/scripts/run-tsan.sh" "$TSAN_BUILD" 2>&1 | tee "$tlog"
    trc=${PIPESTATUS[0]}
    tline="$(grep -a -E '^[0-9]+ passed, [0-9]+ failed$' "$tlog" | tail -n 1)"
    if [ -z "$tline" ]; then
        echo "run-tests: run-tsan.sh printed no summary (exit $trc)"
        failed=$((failed + 1))
    else
        passed=$((passed + $(cut -d' ' -f1 <<<"$tline")))
        failed=$((failed + $(cut -d' ' -f3 <<<"$tline")))
        [ "$trc" -ne 0 ] && [ "$(cut -d' ' -f3 <<<"$tline")" -eq 0 ] && failed=$((failed + 1))
    fi
fi

# End-to-end suite. pytest's last line looks like "3 failed, 40 passed, 1 error in 71.2s".
# run_e2e NAME [ENV=VALUE ...] -- PYTEST_ARGS...: one pytest run, its counts added.
run_e2e() {
    local name="$1" pylog="$LOGDIR/$1.log" envs=() rc summary
    shift
    while [ "$1" != "--" ]; do
        envs+=("$1")
        shift
    done
    shift
    (
        cd "$ROOT" &&
            env "${envs[@]}" FOO_BUILD="$BUILD" FOO_E2E_LOGDIR="$LOGDIR/$name" \
                timeout -k 10 "$E2E_TIMEOUT_S" "$PYTHON" -m pytest -q -p no:cacheprovider "$@"
    ) 2>&1 | tee "$pylog"
    rc=${PIPESTATUS[0]}
    summary="$(grep -a -E '[0-9]+ (passed|failed|errors?|skipped|deselected).* in [0-9.]+s' \
        "$pylog" | tail -n 1)"
    count() { grep -o -E "[0-9]+ $1" <<<"$summary" | grep -o -E '[0-9]+' | head -n 1; }
    local e_passed e_failed e_errors
    e_passed="$(count passed)"
    e_failed="$(count failed)"
    e_errors="$(count 'errors?')"
    passed=$((passed + ${e_passed:-0}))
    failed=$((failed + ${e_failed:-0} + ${e_errors:-0}))
    # pytest exits 0 (all passed) or 1 (some failed); anything else (interrupted, internal
    # error, usage error, no tests collected, timeout) is a failure the counts may not show.
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
        echo "run-tests: $name: pytest exited with $rc"
        failed=$((failed + 1))
    elif [ "$rc" -eq 1 ] && [ $((${e_failed:-0} + ${e_errors:-0})) -eq 0 ]; then
        failed=$((failed + 1))
    fi
}

run_e2e e2e -- test/e2e

# The walkthrough and conformance files once more with every server on one etcd
# (FOO_E2E_STORAGE=etcd: a session etcd, each server under its own --etcd-prefix; tests of what
# only SQLite has are marked sqlite_only and skip). test_etcd.py ran in the pass above.
ETCD_E2E_FILES=(kubectl list watch watch_more watch_ws patch delete errors subresources discovery
    table python_client client_node builtin_kinds protobuf controller scale http durability)
etcd_paths=()
for f in "${ETCD_E2E_FILES[@]}"; do
    etcd_paths+=("test/e2e/test_$f.py")
done
run_e2e e2e-etcd FOO_E2E_STORAGE=etcd -- "${etcd_paths[@]}"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
