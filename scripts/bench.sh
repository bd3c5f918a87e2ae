#!/usr/bin/env bash
# The benchmarks of BENCHMARKS.md, on release builds. Prints figures; asserts nothing about time.
#   scripts/bench.sh          everything
#   SKIP_ZIP=1 scripts/bench.sh   without the arm64 cross-build (cargo-lambda, several minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/emulator.sh setup >/dev/null
export BUDGET_GUARD_PYTHON="$PWD/.venv/bin/python"

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m), $(date -u +%Y-%m-%d)"
cargo build -q --release -p budget-guard -p provisioner -p alert-handler -p spend-watcher -p usage-meter -p guard-e2e

echo; echo "== functions as processes (cold start, warm alert, CLI vs boto3, memory)"
BUDGET_GUARD_PROFILE=release target/release/guard-bench

echo; echo "== provisioner: 500 budgets applied to the emulator, then re-applied (quick and full reads)"
cargo run -q --release -p guard-aws --example provision_bench

echo; echo "== spend watcher: calls per run, monthly cost, detection delay (simulated time)"
cargo run -q --release -p guard-core --example spend_cost

echo; echo "== fast path: invocation records read, scoped and priced per second on one core"
cargo run -q --release -p guard-core --example usage_throughput

echo; echo "== fast path: record to flag written, on the emulator"
BUDGET_GUARD_PROFILE=release target/release/guard-fast-path-bench

echo; echo "== the stack: what it costs to run a month (README's table)"
cargo run -q --release -p guard-core --example stack_cost

if [[ -f crates/guard-core/examples/validate_timing.rs ]]; then
    echo; echo "== validation of hostile inputs"
    cargo run -q --release -p guard-core --example validate_timing
fi

if [[ -z "${SKIP_ZIP:-}" ]]; then
    echo; echo "== arm64 Lambda zips (cargo-lambda, zig)"
    .venv/bin/python -m pip install --disable-pip-version-check --quiet -r cdk/requirements-bundle.txt
    PATH="$PWD/.venv/bin:$PATH" cargo lambda build -q --release --arm64 --output-format zip \
        -p provisioner -p alert-handler -p spend-watcher
    for f in provisioner alert-handler spend-watcher; do
        printf -- '- %s: %s bytes zipped\n' "$f" "$(stat -c %s "target/lambda/$f/bootstrap.zip")"
    done
fi
