#!/usr/bin/env bash
# Every Rust test binary of the workspace, run again with the test processes on a shifted clock
# (libfaketime): the proof that no outcome depends on today's date. The end-to-end stories' functions
# run on their own clock (tests/testkit/src/clock.rs) and the emulator keeps the real one.
#
#   scripts/test-shifted-clock.sh [SHIFT...]     default: +400d -400d +3650d
set -euo pipefail
cd "$(dirname "$0")/.."

shifts=("$@")
[ ${#shifts[@]} -gt 0 ] || shifts=(+400d -400d +3650d)
lib=/usr/lib/$(uname -m)-linux-gnu/faketime/libfaketime.so.1
[ -e "$lib" ] || { echo "libfaketime is missing: make faketime" >&2; exit 1; }
export BUDGET_GUARD_PYTHON="${BUDGET_GUARD_PYTHON:-$PWD/.venv/bin/python}"

# Each test binary with its package's folder, where cargo test would run it.
list=$(mktemp)
trap 'rm -f "$list"' EXIT
cargo test --workspace --no-run --message-format=json 2>/dev/null | python3 -c '
import json, os, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(os.path.dirname(m["manifest_path"]), m["executable"])
' | sort -u >"$list"

failed=0
for shift in "${shifts[@]}"; do
    passed=0
    while read -r dir binary; do
        if (cd "$dir" && LD_PRELOAD="$lib" FAKETIME="$shift" DONT_FAKE_MONOTONIC=1 \
            "$binary" -q >"$list.out" 2>&1); then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            echo "FAILED with the clock at $shift: $binary" >&2
            tail -30 "$list.out" >&2
        fi
    done <"$list"
    echo "clock $shift: $passed test binaries passed"
done
rm -f "$list.out"
[ "$failed" -eq 0 ] || { echo "$failed test binaries failed on a shifted clock" >&2; exit 1; }
