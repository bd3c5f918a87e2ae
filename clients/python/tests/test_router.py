"""budget_guard_router against the real emulator (moto's server via tests/emulator/moto_launcher.py).

One emulator per test class, started on a free loopback port and stopped by its PID. Real boto3
calls throughout; a botocore event hook counts GetParameter calls.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

import boto3

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from budget_guard_router import ModelRouter, Route, RouteBlocked  # noqa: E402

LAUNCHER = HERE.parents[2] / "tests" / "emulator" / "moto_launcher.py"
SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA = "us.amazon.nova-lite-v1:0"
LADDER = [SONNET, HAIKU, NOVA]


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


class RouterTest(unittest.TestCase):
    emulator: Emulator

    @classmethod
    def setUpClass(cls) -> None:
        cls.emulator = Emulator()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.emulator.stop()

    def setUp(self) -> None:
        self.ssm = self.emulator.client()
        self.calls = 0
        self.calls_lock = threading.Lock()
        self.ssm.meta.events.register("before-call.ssm.GetParameter", self._count)
        self.clock = FakeClock()
        # A route name per test: one emulator serves the whole class.
        self.route = self.id().rsplit(".", 1)[-1].replace("_", "-")

    def _count(self, **_kwargs) -> None:
        with self.calls_lock:
            self.calls += 1

    def put(self, value: str) -> None:
        self.ssm.put_parameter(Name=f"/budget-guard/routes/{self.route}", Value=value,
                               Type="String", Overwrite=True)

    def router(self, **kwargs) -> ModelRouter:
        options = dict(defaults={self.route: SONNET}, fallback_model=NOVA, ssm_client=self.ssm,
                       clock=self.clock)
        options.update(kwargs)
        return ModelRouter(**options)

    def test_v1_flag(self) -> None:
        self.put(flag(HAIKU, version=1))
        router = self.router()
        self.assertEqual(router.model_for(self.route), HAIKU)
        self.assertEqual(router.route_for(self.route), Route(HAIKU))

    def test_v2_flag_with_cap_and_tier(self) -> None:
        self.put(flag(HAIKU, max_output_tokens=500, service_tier="flex", blocked=False))
        route = self.router().route_for(self.route)
        self.assertEqual(route, Route(HAIKU, service_tier="flex", max_output_tokens=500, blocked=False))

    def test_blocked_route(self) -> None:
        self.put(flag(HAIKU, blocked=True))
        router = self.router()
        with self.assertRaises(RouteBlocked) as raised:
            router.route_for(self.route)
        self.assertEqual(raised.exception.model_id, HAIKU)
        # model_for is the version-1 reading: the model, not the block.
        self.assertEqual(router.model_for(self.route), HAIKU)

    def test_missing_parameter_serves_the_default_else_the_fallback(self) -> None:
        router = self.router()
        resolution = router.resolve(self.route)
        self.assertEqual((resolution.model_id, resolution.source), (SONNET, "default"))
        self.assertEqual(resolution.error.kind, "not_found")
        self.assertEqual(router.model_for("no-default-route"), NOVA)

    def test_ttl_one_read_until_the_clock_passes_it(self) -> None:
        self.put(flag(HAIKU))
        router = self.router(ttl_seconds=30)
        self.assertEqual(router.model_for(self.route), HAIKU)
        self.put(flag(NOVA))
        self.clock.now += 29.9
        self.assertEqual(router.model_for(self.route), HAIKU, "within the TTL: the cached value")
        self.assertEqual(self.calls, 1)
        self.clock.now += 0.2
        self.assertEqual(router.model_for(self.route), NOVA, "past the TTL: read again")
        self.assertEqual(self.calls, 2)

    def test_last_good_value_on_an_invalid_value(self) -> None:
        self.put(flag(HAIKU, max_output_tokens=300))
        router = self.router(ttl_seconds=30)
        self.assertEqual(router.model_for(self.route), HAIKU)
        self.put("not json {")
        self.clock.now += 31
        resolution = router.resolve(self.route)
        self.assertEqual((resolution.model_id, resolution.source), (HAIKU, "stale"))
        self.assertEqual(resolution.route.max_output_tokens, 300)
        self.assertEqual(resolution.error.kind, "invalid_value")
        self.assertNotIn("not json", str(resolution.error), "the error never quotes the value")
        # The failure is cached too: no call again within the TTL.
        router.model_for(self.route)
        self.assertEqual(self.calls, 2)

    def test_last_good_value_when_ssm_is_unreachable(self) -> None:
        self.put(flag(HAIKU))
        router = self.router(ttl_seconds=30)
        self.assertEqual(router.model_for(self.route), HAIKU)
        # The same router's client pointed at a closed port: a network failure.
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        from botocore.config import Config
        router._ssm = boto3.client(
            "ssm", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}, connect_timeout=1),
        )
        self.clock.now += 31
        resolution = router.resolve(self.route)
        self.assertEqual((resolution.model_id, resolution.source), (HAIKU, "stale"))
        self.assertEqual(resolution.error.kind, "unreachable")

    def test_unreachable_before_any_success_serves_the_default(self) -> None:
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        from botocore.config import Config
        ssm = boto3.client(
            "ssm", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}, connect_timeout=1),
        )
        resolution = self.router(ssm_client=ssm).resolve(self.route)
        self.assertEqual((resolution.model_id, resolution.source), (SONNET, "default"))
        self.assertEqual(resolution.error.kind, "unreachable")

    def test_off_ladder_flag_is_ignored(self) -> None:
        self.put(flag("us.anthropic.claude-opus-4-1-20250805-v1:0", max_output_tokens=100))
        with self.assertLogs("budget_guard_router", level="WARNING") as logs:
            resolution = self.router(allowed_models={self.route: LADDER}).resolve(self.route)
        self.assertEqual((resolution.model_id, resolution.source), (SONNET, "off_ladder"))
        self.assertEqual(resolution.rejected_model_id, "us.anthropic.claude-opus-4-1-20250805-v1:0")
        self.assertEqual(resolution.route, Route(SONNET))
        self.assertNotIn('"version"', "\n".join(logs.output), "the value is never logged")

    def test_concurrent_threads_make_one_call(self) -> None:
        self.put(flag(HAIKU))
        router = self.router()
        # Slow each call down so that all threads ask while the first refresh is in flight.
        self.ssm.meta.events.register("before-call.ssm.GetParameter", lambda **_: time.sleep(0.2))
        barrier = threading.Barrier(16)
        answers: list[str] = []

        def ask() -> None:
            barrier.wait()
            answers.append(router.model_for(self.route))

        threads = [threading.Thread(target=ask) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(answers, [HAIKU] * 16)
        self.assertEqual(self.calls, 1)

    def test_invalid_route_name_makes_no_call(self) -> None:
        router = self.router()
        self.assertEqual(router.model_for("../other"), NOVA)
        self.assertEqual(self.calls, 0)


if __name__ == "__main__":
    unittest.main()
