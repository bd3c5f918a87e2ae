"""What the client's tests share: the emulator (moto's server via tests/emulator/moto_launcher.py,
started on a free loopback port and stopped by its PID), a hand-moved clock and flag values."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
LAUNCHER = HERE.parents[2] / "tests" / "emulator" / "moto_launcher.py"
SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA = "us.amazon.nova-lite-v1:0"
LADDER = [SONNET, HAIKU, NOVA]

# The tests run the client from the source tree, not an installed copy.
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Emulator:
    """Starts moto_launcher.py on port 0 and learns the port from its port file."""

    def __init__(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        port_file = Path(self.tmp.name) / "port"
        env = dict(os.environ, BUDGET_GUARD_EXIT_WITH_PARENT=str(os.getpid()))
        env.pop("BUDGET_GUARD_CALL_LOG", None)
        self.log = open(Path(self.tmp.name) / "log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, str(LAUNCHER), "0", "--port-file", str(port_file)],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited: {Path(self.tmp.name, 'log').read_text()}")
            if port_file.exists() and port_file.read_text().strip():
                self.port = int(port_file.read_text())
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                    break
                except OSError:
                    pass
            time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError("emulator did not answer within 20 s")
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def client(self, endpoint: str | None = None):
        return boto3.client(
            "ssm", endpoint_url=endpoint or self.endpoint, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )

    def stop(self) -> None:
        """Stops only the process this object started, by its PID."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        self.tmp.cleanup()


def flag(model_id: str, version: int = 2, **fields) -> str:
    doc = {"version": version, "route": "chat", "model_id": model_id, "step": 1, "ladder_size": 3,
           "budget": "bg-chat", "period_start": "2026-11-01", "reason": "test",
           "changed_at": "2026-11-12T06:41:09Z", "changed_by": "alert-handler", "pinned": False}
    doc.update(fields)
    return json.dumps(doc)
