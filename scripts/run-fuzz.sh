#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/fuzz_*.c) with clang and runs each one on its corpus.
#   1. configures and builds BUILD_DIR with -DFOO_FUZZ=ON (CC=clang), target fuzz_targets;
#   2. runs every target (or those of FUZZ_TARGETS) for FUZZ_SECONDS seconds, FUZZ_JOBS at a time,
#      on fuzz/corpus/<name>/: inputs found to add coverage are merged into that folder
#      (-merge=1: only inputs with new features are kept, so the corpora stay small);
#   3. a crash, leak, timeout or out-of-memory input is minimized when libFuzzer can
#      (-minimize_crash) and moved to fuzz/regressions/<name>/, which `make test` replays.
# Prints one line per target:
#   fuzz: NAME: SECONDS s, EXECS execs, cov COV, ft FT, corpus FILES files, ok|FINDING <file>
# and, when FUZZ_STATS names a file, appends the same figures to it as a Markdown table row.
# Exits non-zero when a target found something or could not run.
#
# Usage: scripts/run-fuzz.sh [BUILD_DIR]    (default build-fuzz)
# Environment: FUZZ_SECONDS (60), FUZZ_JOBS (1), FUZZ_TARGETS ("a b": a subset), FUZZ_STATS,
#              FUZZ_NICE (nice level of the fuzzers, 0).
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${1:-build-fuzz}"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-60}"
JOBS="${FUZZ_JOBS:-1}"
NICE="${FUZZ_NICE:-0}"
STATS="${FUZZ_STATS:-}"

command -v clang >/dev/null || {
    echo "run-fuzz: clang not found (scripts/install-deps.sh installs it)" >&2
    exit 2
}
CC=clang cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DFOO_FUZZ=ON >/dev/null || exit 2
# Binaries are relinked every time, so a target that no longer builds cannot run stale.
rm -f "$BUILD"/fuzz_*
# -k: a target that does not build is reported below; the others still run.
cmake --build "$BUILD" -j 2 --target fuzz_targets -- -k >"$BUILD/fuzz-build.log" 2>&1 ||
    echo "run-fuzz: some targets did not build (see $BUILD/fuzz-build.log)" >&2
BUILD="$(cd "$BUILD" && pwd)"

if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    targets=()
    for src in "$ROOT"/fuzz/fuzz_*.c; do
        n="$(basename "$src" .c)"
        targets+=("${n#fuzz_}")
    done
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/foo-fuzz.XXXXXX")"
echo "run-fuzz: logs in $WORK"

# The largest input libFuzzer may build for a target: a little above what realistic inputs of
# that kind need, so time goes into structure rather than bulk.
max_len_of() {
    case "$1" in
    accept) echo 1024 ;;
    json_body | watch_decoder | kubeconfig) echo 8192 ;;
    *) echo 4096 ;;
    esac
}

# Targets whose code under test logs every rejected input on stderr: closed (-close_fd_mask=2),
# sanitizer reports still reach the log.
quiet_of() {
    case "$1" in
    token_file) echo "-close_fd_mask=2" ;;
    *) echo "" ;;
    esac
}

# Runs one target; writes its summary line to $WORK/NAME.summary.
fuzz_one() {
    local n="$1" bin="$BUILD/fuzz_$1" corpus="$ROOT/fuzz/corpus/$1"
    local new="$WORK/$n.new" art="$WORK/$n.artifacts" log="$WORK/$n.log"
    mkdir -p "$new" "$art" "$corpus"
    if [ ! -x "$bin" ]; then
        echo "fuzz: $n: no binary $bin" >"$WORK/$n.summary"
        return
    fi
    # New inputs go to the first directory ($new); the committed corpus is only read.
    local start elapsed
    start="$(date +%s)"
    # shellcheck disable=SC2046
    nice -n "$NICE" "$bin" "$new" "$corpus" -max_total_time="$SECONDS_PER_TARGET" \
        -max_len="$(max_len_of "$n")" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$art/" $(quiet_of "$n") >"$log" 2>&1
    local rc=$?
    elapsed=$(($(date +%s) - start)) # less than asked when a finding stopped the run
    local execs cov ft result="ok"
    execs="$(grep -a -o -E 'stat::number_of_executed_units: [0-9]+' "$log" | grep -o -E '[0-9]+$')"
    cov="$(grep -a -o -E ' cov: [0-9]+' "$log" | tail -n 1 | grep -o -E '[0-9]+')"
    ft="$(grep -a -o -E ' ft: [0-9]+' "$log" | tail -n 1 | grep -o -E '[0-9]+')"

    local found=""
    for f in "$art"/crash-* "$art"/leak-* "$art"/timeout-* "$art"/oom-* "$art"/slow-unit-*; do
        [ -e "$f" ] || continue
        case "$(basename "$f")" in slow-unit-*) continue ;; esac
        found="$f"
    done
    if [ -n "$found" ]; then
        local dest="$ROOT/fuzz/regressions/$n" base
        base="$(basename "$found")"
        mkdir -p "$dest"
        case "$base" in
        crash-* | leak-*)
            # The smallest input that still fails the same way; kept as is when that fails.
            nice -n "$NICE" "$bin" -minimize_crash=1 -runs=20000 -max_total_time=120 \
                -exact_artifact_path="$WORK/$n.min" "$found" >"$WORK/$n.minimize.log" 2>&1
            if [ -s "$WORK/$n.min" ]; then
                cp "$WORK/$n.min" "$dest/$base"
            else
                cp "$found" "$dest/$base"
            fi
            ;;
        *) cp "$found" "$dest/$base" ;;
        esac
        result="FINDING fuzz/regressions/$n/$base (log $log)"
    elif [ "$rc" -ne 0 ]; then
        result="FAILED (exit $rc, log $log)"
    fi

    # Keep only the new inputs that add coverage to the committed corpus.
    if [ -n "$(ls -A "$new")" ]; then
        "$bin" -merge=1 -max_len="$(max_len_of "$n")" -timeout=10 -rss_limit_mb=2048 \
            $(quiet_of "$n") "$corpus" "$new" >"$WORK/$n.merge.log" 2>&1 ||
            echo "run-fuzz: $n: merge failed (log $WORK/$n.merge.log)" >&2
    fi
    local files
    files="$(find "$corpus" -type f | wc -l)"
    printf 'fuzz: %s: %s s, %s execs, cov %s, ft %s, corpus %s files, %s\n' "$n" \
        "$elapsed" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$files" "$result" \
        >"$WORK/$n.summary"
    if [ -n "$STATS" ]; then
        printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$n" \
            "$elapsed" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$files" \
            "${result%% (log*}" >>"$STATS"
    fi
}

running=0
for n in "${targets[@]}"; do
    if [ "$running" -ge "$JOBS" ]; then
        wait -n
        running=$((running - 1))
    fi
    fuzz_one "$n" &
    running=$((running + 1))
done
wait

status=0
for n in "${targets[@]}"; do
    cat "$WORK/$n.summary"
    grep -q ', ok$' "$WORK/$n.summary" || status=1
done
exit "$status"
