#!/usr/bin/env bash
# Checks the dependency rules between the folders of the system (docs/design.md §5), read from
# the #include lines of every C file under git: a folder may include its own headers and those of
# the folders listed for it, nothing else; no file anywhere includes cmd/. Tests (test/), fuzz
# targets (fuzz/) and benchmarks (bench/) may include any part but cmd/. Includes name their
# folder from the repository root ("common/json.h"), never "../".
# Prints each violation as FILE:LINE: folder -> included folder, exits 1 when there is one.
#
# Usage: scripts/check-layers.sh   (from anywhere inside the repository)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

declare -A allowed=(
    [common]=""
    [api]="common"
    [storage]="common"
    [workqueue]="common"
    [client]="common"
    [informer]="client common"
    [apiserver]="api storage client common"
    [controllers]="api client informer workqueue common"
    [cmd]="api storage client common apiserver informer workqueue controllers"
)

bad=0
while IFS= read -r -d '' file; do
    folder="${file%%/*}"
    while IFS=: read -r line inc; do
        if [[ "$inc" == *../* ]]; then
            echo "$file:$line: climbs out of its folder ($inc): name the folder from the root"
            bad=1
            continue
        fi
        target="${inc%%/*}"
        [ "$target" = "$inc" ] && continue # a header beside the file (tests' own helpers)
        if [ "$target" = "cmd" ]; then
            echo "$file:$line: includes cmd/ ($inc)"
            bad=1
            continue
        fi
        case "$folder" in test | fuzz | bench) continue ;; esac
        [ -n "${allowed[$folder]+set}" ] || continue # a folder without rules (scripts, ...)
        [ "$target" = "$folder" ] && continue
        [ -n "${allowed[$target]+set}" ] || continue # not one of ours (e.g. cjson/cJSON.h)
        if [[ " ${allowed[$folder]} " != *" $target "* ]]; then
            echo "$file:$line: $folder -> $target ($inc)"
            bad=1
        fi
    done < <(grep -n -o -E '^#include "[^"]+"' "$file" | sed -E 's/:#include "([^"]+)"/:\1/')
done < <(git ls-files -z '*.c' '*.h')

if [ "$bad" -eq 0 ]; then
    echo "check-layers: every #include follows the folder rules"
fi
exit "$bad"
