"""budget_guard_router against the real emulator (moto's server via tests/emulator/moto_launcher.py).

One emulator per test class, started on a free loopback port and stopped by its PID. Real boto3
calls throughout; a botocore event hook counts GetParameter calls.
"""

from __future__ import annotations

import socket
import threading
import time
import unittest

import boto3

# support puts src/ on sys.path, so it comes before the client.
from support import HAIKU, LADDER, NOVA, SONNET, Emulator, FakeClock, flag
from budget_guard_router import ModelRouter, Route, RouteBlocked


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
