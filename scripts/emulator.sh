#!/usr/bin/env bash
# The local AWS emulator (moto's server plus tests/emulator/moto_launcher.py).
#
#   scripts/emulator.sh setup   make .venv and install tests/emulator/requirements.txt
#                               (skipped when the installed requirements are unchanged)
#   scripts/emulator.sh start   start it on 127.0.0.1 on a free port, in the background
#   scripts/emulator.sh stop    stop the one that `start` started
#   scripts/emulator.sh env     print the exports that point the AWS SDKs at it:
#                               eval "$(scripts/emulator.sh env)"
#
# The Rust tests (tests/testkit) start their own emulator per test and need only `setup`.
# PYTHON picks the interpreter that makes the venv (default python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQUIREMENTS="$ROOT/tests/emulator/requirements.txt"
LAUNCHER="$ROOT/tests/emulator/moto_launcher.py"
STATE="$ROOT/.emulator"
STAMP="$VENV/.requirements.sha256"
START_TIMEOUT_SECS=20

die() {
    echo "emulator.sh: $*" >&2
    exit 1
}

# The pid in .emulator/pid, if that process is still our launcher (not a reused pid).
running_pid() {
    [[ -f "$STATE/pid" ]] || return 1
    local pid
    pid="$(cat "$STATE/pid")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "moto_launcher.py" || return 1
    echo "$pid"
}

endpoint() {
    echo "http://127.0.0.1:$(cat "$STATE/port")"
}

cmd_setup() {
    local want
    want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
    if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] &&
        "$VENV/bin/python" -c 'import moto.server' 2>/dev/null; then
        echo "emulator.sh: .venv is up to date"
        return
    fi
    local python="${PYTHON:-python3}"
    command -v "$python" >/dev/null || die "$python not found; install Python 3.9 or newer"
    echo "emulator.sh: installing $REQUIREMENTS into $VENV"
    "$python" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet -r "$REQUIREMENTS"
    echo "$want" >"$STAMP"
    echo "emulator.sh: .venv ready ($("$VENV/bin/python" -c 'import moto; print("moto", moto.__version__)'))"
}

cmd_start() {
    if running_pid >/dev/null; then
        endpoint
        return
    fi
    cmd_setup >&2
    mkdir -p "$STATE"
    rm -f "$STATE/port" "$STATE/pid"
    : >"$STATE/log"
    BUDGET_GUARD_CALL_LOG="${BUDGET_GUARD_CALL_LOG:-$STATE/calls.log}" \
        nohup "$VENV/bin/python" "$LAUNCHER" 0 --port-file "$STATE/port" \
        >>"$STATE/log" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$STATE/pid"

    local deadline=$((SECONDS + START_TIMEOUT_SECS))
    while ((SECONDS < deadline)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$STATE/pid"
            echo "emulator.sh: the emulator exited while starting; last lines of $STATE/log:" >&2
            tail -n 20 "$STATE/log" >&2
            exit 1
        fi
        # Ready once the port is known and something accepts connections on it.
        if [[ -s "$STATE/port" ]] &&
            (exec 3<>"/dev/tcp/127.0.0.1/$(cat "$STATE/port")") 2>/dev/null; then
            endpoint
            return
        fi
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    rm -f "$STATE/pid"
    echo "emulator.sh: the emulator did not answer within ${START_TIMEOUT_SECS}s; last lines of $STATE/log:" >&2
    tail -n 20 "$STATE/log" >&2
    exit 1
}

cmd_stop() {
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$STATE/pid" "$STATE/port"
        echo "emulator.sh: not running"
        return
    fi
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    rm -f "$STATE/pid" "$STATE/port"
    echo "emulator.sh: stopped (pid $pid)"
}

cmd_env() {
    running_pid >/dev/null || die "not running; run scripts/emulator.sh start"
    echo "export AWS_ENDPOINT_URL=$(endpoint) AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1" \
        "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true"
}

case "${1:-}" in
setup) cmd_setup ;;
start) cmd_start ;;
stop) cmd_stop ;;
env) cmd_env ;;
*)
    echo "usage: $0 setup|start|stop|env" >&2
    exit 2
    ;;
esac
