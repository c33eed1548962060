#!/bin/sh
# run.sh - builds and runs the workqueue unit tests under ThreadSanitizer.
#
# Criterion 2.4.1 cannot start under TSan (see criterion/criterion.h here), so the same test
# sources are compiled against a small Criterion-compatible shim and run in one process.
# The library comes from a CMake build with -DFOO_TSAN=ON (default dir /tmp/build-workqueue-tsan).
#
# Usage: test/unit/workqueue/tsan/run.sh [BUILD_DIR] [SUITE]
# Exit status: 0 when every test passes and TSan reports nothing (TSan exits 66 on a report).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
build=${1:-/tmp/build-workqueue-tsan}
suite=${2:-}

cmake -S "$root" -B "$build" -DFOO_TSAN=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" --target foo_workqueue -j2 >/dev/null

# shellcheck disable=SC2046 # pkg-config output is a word list by design
cc -std=c17 -D_GNU_SOURCE -g -O1 -fsanitize=thread -fno-omit-frame-pointer \
    -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wno-format-zero-length \
    -I "$here" -I "$root" \
    "$root"/test/unit/workqueue/*.c "$here/runner.c" \
    "$build/libfoo_workqueue.a" "$build/libfoo_common.a" \
    $(pkg-config --libs libcjson yaml-0.1 libcrypto) -lpthread -lm \
    -o "$build/unit_workqueue_tsan"

TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
    "$build/unit_workqueue_tsan" ${suite:+"$suite"}
