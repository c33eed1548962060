#!/usr/bin/env bash
# Checks the dependency rules between the folders of the system (docs/design.md §5), and between
# the three layers of apiserver/ (transport <- rest -> resource: calls point one way), read from
# the #include lines of every C file under git: a folder may include its own headers and those of
# the folders listed for it, nothing else; no file anywhere includes cmd/. Tests (test/), fuzz
# targets (fuzz/) and benchmarks (bench/) may include any part but cmd/. Includes name their
# folder from the repository root ("common/json.h"), never "../".
# Prints each violation as FILE:LINE: folder -> included folder, exits 1 when there is one.
#
# Usage: scripts/check-layers.sh [DIR]   (DIR: the tree to check, default the repository; a
# tree that is not a git checkout is read with find. test/fixtures/ holds broken trees that
# test/e2e/test_repo_checks.py runs this script on, so the repository's own run skips it.)
set -uo pipefail
if [ $# -ge 1 ]; then
    cd "$1" || exit 2
else
    cd "$(dirname "$0")/.." || exit 2
fi

list_sources() {
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
        [ "$(git rev-parse --show-toplevel)" = "$(pwd -P)" ]; then
        git ls-files -z '*.c' '*.h' | grep -z -v '^test/fixtures/'
    else
        find . -name '*.[ch]' -not -path './test/fixtures/*' -printf '%P\0' | sort -z
    fi
}

declare -A allowed=(
    [common]=""
    [api]="common"
    [storage]="common"
    [workqueue]="common"
    [client]="common"
    [informer]="client common"
    [apiserver]="apiserver/transport apiserver/resource apiserver/rest api storage client common"
    [apiserver/transport]="client common"
    [apiserver/resource]="api storage common"
    [apiserver/rest]="apiserver apiserver/transport apiserver/resource api storage client common"
    [controllers]="api client informer workqueue common"
    [cmd]="api storage client common apiserver informer workqueue controllers"
)

# The folder a path belongs to for these rules: its first component, except the layers of
# apiserver/ (apiserver/transport, apiserver/resource, apiserver/rest), which count apart.
folder_of() {
    case "$1" in
    apiserver/transport/* | apiserver/resource/* | apiserver/rest/*)
        local rest="${1#apiserver/}"
        echo "apiserver/${rest%%/*}"
        ;;
    *) echo "${1%%/*}" ;;
    esac
}

bad=0
while IFS= read -r -d '' file; do
    folder="$(folder_of "$file")"
    while IFS=: read -r line inc; do
        if [[ "$inc" == *../* ]]; then
            echo "$file:$line: climbs out of its folder ($inc): name the folder from the root"
            bad=1
            continue
        fi
        target="$(folder_of "$inc")"
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
done < <(list_sources)

if [ "$bad" -eq 0 ]; then
    echo "check-layers: every #include follows the folder rules"
fi
exit "$bad"
