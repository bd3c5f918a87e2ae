"""The LiteLLM pre-call hook against the emulator: real flags in moto's SSM, read by the Python
client, and the hook called as the proxy calls it. LiteLLM itself is not installed here."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import sys
import types
from pathlib import Path

import pytest
import yaml

# support puts src/ on sys.path, so it comes before the client.
from support import HAIKU, LADDER, NOVA, SONNET, Emulator, FakeClock, flag
from budget_guard_router import ModelRouter, RouteBlocked
import budget_guard_router.litellm_hook as litellm_hook
from budget_guard_router.litellm_hook import BudgetGuardHook, RouteRefused

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "litellm"
MESSAGES = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def emulator():
    emulator = Emulator()
    yield emulator
    emulator.stop()


@pytest.fixture
def ssm(emulator):
    client = emulator.client()
    client.calls = 0

    def count(**_kwargs) -> None:
        client.calls += 1

    client.meta.events.register("before-call.ssm.GetParameter", count)
    return client


@pytest.fixture
def route(request) -> str:
    # A route per test: one emulator serves the whole module.
    return request.node.name.replace("_", "-")


def put(ssm, route: str, value: str) -> None:
    ssm.put_parameter(Name=f"/budget-guard/routes/{route}", Value=value, Type="String", Overwrite=True)


def hook_for(ssm, route: str, **kwargs) -> BudgetGuardHook:
    router = ModelRouter(defaults={route: SONNET}, fallback_model=NOVA, ssm_client=ssm,
                         allowed_models={route: LADDER}, clock=FakeClock())
    return BudgetGuardHook(router=router, routes={"chat": route}, **kwargs)


def call(hook: BudgetGuardHook, data: dict, call_type: str = "completion") -> dict:
    return asyncio.run(hook.async_pre_call_hook(None, None, data, call_type))


def test_rewrites_the_model_and_applies_the_cap_and_the_tier(ssm, route):
    put(ssm, route, flag(HAIKU, max_output_tokens=500, service_tier="flex"))
    data = call(hook_for(ssm, route), {"model": "chat", "messages": MESSAGES, "max_tokens": 2000})
    assert data == {"model": f"bedrock/{HAIKU}", "messages": MESSAGES, "max_tokens": 500,
                    "service_tier": "flex"}


def test_the_cap_bounds_what_the_request_asks_and_is_set_when_it_asks_nothing(ssm, route):
    put(ssm, route, flag(HAIKU, max_output_tokens=500))
    hook = hook_for(ssm, route)
    assert call(hook, {"model": "chat", "max_tokens": 200})["max_tokens"] == 200
    assert call(hook, {"model": "chat"})["max_tokens"] == 500
    capped = call(hook, {"model": "chat", "max_completion_tokens": 900})
    assert capped["max_completion_tokens"] == 500 and "max_tokens" not in capped
    assert call(hook, {"model": "chat", "max_output_tokens": 800}, "aresponses")["max_output_tokens"] == 500
    # Embeddings have no output to cap: routed, not given a max_tokens they would reject.
    assert "max_tokens" not in call(hook, {"model": "chat", "input": ["x"]}, "aembedding")


def test_a_step_without_a_tier_leaves_the_request_tier(ssm, route):
    put(ssm, route, flag(HAIKU, version=1))
    data = call(hook_for(ssm, route), {"model": "chat", "service_tier": "priority", "max_tokens": 50})
    assert data == {"model": f"bedrock/{HAIKU}", "service_tier": "priority", "max_tokens": 50}


def test_a_stopped_route_is_refused_as_the_proxy_reports_errors(ssm, route):
    put(ssm, route, flag(HAIKU, blocked=True))
    with pytest.raises(RouteRefused) as raised:
        call(hook_for(ssm, route), {"model": "chat", "messages": MESSAGES})
    refusal = raised.value
    assert isinstance(refusal, RouteBlocked)
    assert (refusal.status_code, refusal.type, refusal.route, refusal.model_id) == (
        400, "budget_exceeded", route, HAIKU)
    assert route in refusal.message


def test_no_flag_serves_the_top_of_the_ladder(ssm, route):
    data = call(hook_for(ssm, route), {"model": "chat", "max_tokens": 50})
    assert data == {"model": f"bedrock/{SONNET}", "max_tokens": 50}


def test_an_off_ladder_flag_is_not_served(ssm, route):
    put(ssm, route, flag("us.anthropic.claude-opus-4-1-20250805-v1:0"))
    assert call(hook_for(ssm, route), {"model": "chat"})["model"] == f"bedrock/{SONNET}"


def test_configured_model_names_replace_the_bedrock_prefix(ssm, route):
    put(ssm, route, flag(NOVA))
    hook = hook_for(ssm, route, model_names={NOVA: "nova-lite"})
    assert call(hook, {"model": "chat"})["model"] == "nova-lite"


def test_other_models_pass_through_without_reading_ssm(ssm, route):
    data = {"model": "gpt-4o", "messages": MESSAGES, "max_tokens": 9000}
    assert call(hook_for(ssm, route), dict(data)) == data
    assert ssm.calls == 0


def test_requests_share_the_router_cache(ssm, route):
    put(ssm, route, flag(HAIKU))
    hook = hook_for(ssm, route)
    for _ in range(5):
        call(hook, {"model": "chat"})
    assert ssm.calls == 1


def test_the_hook_is_a_litellm_callback_when_litellm_is_installed(monkeypatch):
    if importlib.util.find_spec("litellm") is None:
        assert BudgetGuardHook.__bases__ == (object,)

    # LiteLLM's own class, stood in for: the hook must subclass it to be registered as a callback.
    class CustomLogger:
        def __init__(self, message_logging: bool = True, **_kwargs) -> None:
            self.message_logging = message_logging

    module = types.ModuleType("litellm.integrations.custom_logger")
    module.CustomLogger = CustomLogger
    for name in ("litellm", "litellm.integrations"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "litellm.integrations.custom_logger", module)
    # A second copy of the module, imported now, so the one the other tests use stays as it is.
    spec = importlib.util.spec_from_file_location(
        "budget_guard_router.litellm_hook_with_litellm", litellm_hook.__file__)
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)
    hook = copy.BudgetGuardHook(router=None, routes={"chat": "chat"})
    assert isinstance(hook, CustomLogger) and hook.message_logging is True


def load_example(name: str) -> types.ModuleType:
    """Runs the example's callbacks file as LiteLLM's proxy does (from the config's directory)."""
    spec = importlib.util.spec_from_file_location(name, EXAMPLE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_config_loads_the_hook_and_serves_every_step(emulator, ssm, monkeypatch):
    config = yaml.safe_load((EXAMPLE / "config.yaml").read_text())
    served = {entry["model_name"]: entry["litellm_params"]["model"] for entry in config["model_list"]}

    # As LiteLLM's proxy resolves `callbacks`: <module file beside the config>.<instance>.
    module_name, instance_name = config["litellm_settings"]["callbacks"].rsplit(".", 1)
    # The example's router builds boto3's default client: point it at the emulator.
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", emulator.endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    module = load_example(module_name)
    hook = getattr(module, instance_name)
    assert isinstance(hook, BudgetGuardHook)

    for model_name, route in hook.routes.items():
        assert model_name in served, f"the proxy does not list route {model_name}"
        ladder = module.LADDERS[route]
        # The route's own deployment is the top of its ladder (what no flag means).
        assert served[model_name] == f"bedrock/{ladder[0]}"
        for model_id in ladder:
            # Every step the hook may route to is a deployment calling that Bedrock model.
            assert served.get(hook.model_name_for(model_id)) == f"bedrock/{model_id}"
        for model_id in ladder:
            put(ssm, route, flag(model_id, max_output_tokens=300, service_tier="flex"))
            # A fresh proxy process per step: the router's cache would keep the first for 30 s.
            fresh = getattr(load_example(module_name), instance_name)
            data = call(fresh, {"model": model_name, "messages": MESSAGES})
            assert served[data["model"]] == f"bedrock/{model_id}"
            assert (data["max_tokens"], data["service_tier"]) == (300, "flex")
