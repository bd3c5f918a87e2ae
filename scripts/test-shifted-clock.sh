#!/usr/bin/env bash
# The Rust test suite run again with the test processes on a shifted clock (libfaketime): the proof
# that no outcome depends on today's date. The end-to-end stories' functions run on their own clock
# (tests/testkit/src/clock.rs) and the emulator keeps the real one.
#
#   scripts/test-shifted-clock.sh [SHIFT...]     default: +400d -400d +3650d
#
# The shift reaches only the test processes: it is given to cargo as the target runner
# (CARGO_TARGET_<host>_RUNNER, which nextest and cargo test both honour), so cargo and rustc keep
# the real clock and the tests run as parallel as in `make rust-test`.
set -euo pipefail
cd "$(dirname "$0")/.."

shifts=("$@")
[ ${#shifts[@]} -gt 0 ] || shifts=(+400d -400d +3650d)
lib=/usr/lib/$(uname -m)-linux-gnu/faketime/libfaketime.so.1
[ -e "$lib" ] || { echo "libfaketime is missing: make faketime" >&2; exit 1; }
export BUDGET_GUARD_PYTHON="${BUDGET_GUARD_PYTHON:-$PWD/.venv/bin/python}"

host=$(rustc -vV | sed -n 's/^host: //p')
runner_var="CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$host")_RUNNER"
if command -v cargo-nextest >/dev/null 2>&1; then
    run_tests=(cargo nextest run --workspace --no-fail-fast --hide-progress-bar --status-level fail --final-status-level fail)
else
    run_tests=(cargo test --workspace --no-fail-fast -q)
fi

failed=()
for shift in "${shifts[@]}"; do
    # A shift that does not reach a process would pass silently: check that one does.
    if [ "$(env LD_PRELOAD="$lib" FAKETIME="$shift" date +%F)" = "$(date +%F)" ]; then
        echo "libfaketime did not move the clock by $shift" >&2
        exit 1
    fi
    echo "clock $shift: the workspace's tests"
    if env "$runner_var=env LD_PRELOAD=$lib FAKETIME=$shift DONT_FAKE_MONOTONIC=1" "${run_tests[@]}"; then
        echo "clock $shift: passed"
    else
        failed+=("$shift")
    fi
done
[ ${#failed[@]} -eq 0 ] || { echo "tests failed with the clock at: ${failed[*]}" >&2; exit 1; }
