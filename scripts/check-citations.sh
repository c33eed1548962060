#!/usr/bin/env bash
# Checks that the repository stands on its own: no file under git cites design notes that live
# outside it (the team's api-contract, DESIGN.md, platform-notes, controller-machinery and
# builtin-kinds references, or anything under ../shared). Code and tests cite docs/ instead
# (docs/README.md lists the notes); citations of docs/controller-machinery.md are ours and fine.
#
# Skipped: docs/ itself, .ci/, and this script (which has to name the patterns).
# Prints every offending line as FILE:LINE:TEXT and exits 1 when there is one; exits 0 when there
# is none, 2 when git cannot list the files.
#
# Usage: scripts/check-citations.sh   (from anywhere inside the repository)
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT" || exit 2

# One Perl-compatible pattern per kind of outside citation.
PATTERN='api-contract|DESIGN\.md|\bDESIGN\s*§|platform-notes|(?<!docs/)controller-machinery|builtin-kinds|\.\./shared|/work/shared'

files="$(git ls-files -z 2>/dev/null | tr '\0' '\n')" || exit 2
[ -n "$files" ] || exit 2

# grep -I skips binary files; -H names the file even when there is only one.
hits="$(printf '%s\n' "$files" |
    grep -v -e '^docs/' -e '^\.ci/' -e '^scripts/check-citations\.sh$' |
    while IFS= read -r f; do [ -f "$f" ] && printf '%s\0' "$f"; done |
    xargs -0 -r grep -nHIP -- "$PATTERN")"

if [ -n "$hits" ]; then
    printf '%s\n' "$hits"
    echo "check-citations: $(printf '%s\n' "$hits" | wc -l) line(s) cite notes outside the repository; cite docs/ instead" >&2
    exit 1
fi
echo "check-citations: no citation of notes outside the repository"
exit 0
