#!/usr/bin/env bash
# The README's first command: Budget Guard on the example policy, with no AWS account.
#   validate -> estimate -> the plan of what the first apply would create.
set -euo pipefail
cd "$(dirname "$0")/.."
BG=${BUDGET_GUARD_BIN:-target/debug/budget-guard}
[[ -x "$BG" ]] || cargo build -q -p budget-guard
POLICY=${1:-policies}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. Validate the policy ($POLICY)"
"$BG" validate "$POLICY"

step "2. Estimate what it costs per period, and what each lower ladder step would save"
"$BG" estimate "$POLICY"

step "3. Plan: what applying it to an empty account creates (offline, no AWS calls)"
"$BG" plan --offline "$POLICY"

step "Done. Next: 'make test' runs every test; README.md shows how to deploy for real."
