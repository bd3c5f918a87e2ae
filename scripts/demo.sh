#!/usr/bin/env bash
# The README's first command: Budget Guard end to end on this machine, with no AWS account.
# Builds the CLI and the three function binaries, then runs the story of tests/e2e/src/bin/demo.rs:
# the AWS emulator and a Slack listener on 127.0.0.1, the real functions under a local Lambda
# runtime API, apply, a spend spike, an AWS Budgets alert, a redelivery and the period roll-over.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/emulator.sh setup >/dev/null
echo "Building the CLI and the functions (the first build takes a few minutes)..."
cargo build -q -p budget-guard -p provisioner -p alert-handler -p spend-watcher -p guard-e2e

printf '\n\033[1m== 0. Validate and estimate the example policy (no AWS at all)\033[0m\n'
target/debug/budget-guard validate policies
target/debug/budget-guard estimate policies

printf '\n\033[1m== 0b. Ladder rungs: an output cap, a service tier and stop (policies/examples/ladder-rungs.yaml)\033[0m\n'
target/debug/budget-guard estimate policies/examples/ladder-rungs.yaml
# The alert handler's own code, in memory: the 70% alert steps the route to its cap rung.
target/debug/budget-guard alert simulate policies/examples/ladder-rungs.yaml \
  --message-file policies/examples/ladder-rungs-alert-70pct.txt --at 2026-11-12T06:41:09Z

exec target/debug/guard-demo
