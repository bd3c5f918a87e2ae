"""Fresh emulators in a fifth of a second: a process that has imported moto once forks one per test.

Importing moto and the services' modules costs a second or more of CPU, and the Rust test kit
starts an emulator per test, three times over in `make test`. This server pays that once: it
imports moto_launcher (moto plus what moto lacks) and the services the guard calls, then waits
on a Unix socket. Each connection asks for one emulator with a line of JSON,
`{"log": PATH, "call_log": PATH}`; the server forks, and the child answers with its port, a line
`{"port": N}`, then serves moto on 127.0.0.1:N with its output in `log`. The child's state is its
own: the parent never serves a request, so every child starts with empty backends.

The child lives as long as the connection: when the test drops its end (or dies), the child
exits. The server exits after IDLE_SECONDS without a request and removes its socket.

Usage: python fork_server.py SOCKET_PATH
"""

import json
import os
import signal
import socket
import sys
import threading

import moto_launcher
import moto.server

IDLE_SECONDS = 120

# The services the guard's adapters call: imported here so that no child pays for them.
SERVICES = ("budgets", "cloudwatch", "dynamodb", "lambda", "secretsmanager", "sns", "ssm", "sts")


def _preload():
    for service in SERVICES:
        for part in ("models", "responses", "urls"):
            try:
                __import__(f"moto.{service}.{part}")
            except ImportError:
                pass


def _serve_one(conn, request):
    """In the forked child: answer with the port, then serve until the connection closes."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    if request.get("call_log"):
        os.environ["BUDGET_GUARD_CALL_LOG"] = request["call_log"]
    port = moto_launcher._free_port()
    conn.sendall(json.dumps({"port": port}).encode() + b"\n")

    def exit_when_closed():
        try:
            while conn.recv(1024):
                pass
        finally:
            # The test takes the connection's end as the sign that the port is free: close
            # the server's sockets before the connection, which the exit closes last.
            os.closerange(3, conn.fileno())
            os.closerange(conn.fileno() + 1, 1 << 16)
            os._exit(0)

    threading.Thread(target=exit_when_closed, daemon=True).start()
    moto.server.main(["-H", "127.0.0.1", "-p", str(port)])
    os._exit(0)


def _read_request(conn):
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
    return json.loads(data)


def main():
    path = sys.argv[1]
    _preload()
    # Children are reaped by the kernel: the server never waits on them.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = f"{path}.{os.getpid()}"
    listener.bind(tmp)
    listener.listen(64)
    # Visible at its path only once it listens, so a client that finds the path can connect.
    os.replace(tmp, path)
    ours = os.stat(path).st_ino
    listener.settimeout(IDLE_SECONDS)
    try:
        while True:
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                return
            conn.settimeout(10)
            try:
                request = _read_request(conn)
            except (OSError, ValueError):
                request = None
            if request is None:
                conn.close()
                continue
            conn.settimeout(None)
            if os.fork() == 0:
                listener.close()
                _serve_one(conn, request)
            conn.close()
    finally:
        # Another server may already own the path (this one went idle while it started).
        try:
            if os.stat(path).st_ino == ours:
                os.unlink(path)
        except OSError:
            pass
        listener.close()


if __name__ == "__main__":
    main()
