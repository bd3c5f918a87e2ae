"""A LiteLLM proxy pre-call hook that routes requests by their Budget Guard routing flag.

Applications ask the proxy for a route by its model name (``"model": "support-chatbot"``); the
hook reads the route's flag through :class:`~budget_guard_router.ModelRouter` and rewrites the
request before LiteLLM picks a deployment:

- ``model`` becomes the flag's Bedrock model, as the LiteLLM model name that serves it
  (``bedrock/<model_id>`` unless ``model_names`` says otherwise);
- the step's output cap bounds ``max_tokens`` (and ``max_completion_tokens``, or the Responses
  API's ``max_output_tokens``): the smaller of the request's value and the cap, the cap when the
  request has none;
- the step's service tier is passed as ``service_tier``, which LiteLLM's Bedrock Converse
  provider sends as Converse ``serviceTier``; a step without a tier leaves the request's own;
- a stopped route is refused with :class:`RouteRefused`, which the proxy answers as an error
  (HTTP 400, type ``budget_exceeded``, like LiteLLM's own budget refusals).

Requests for model names that are not routes pass through unchanged. The route comes only from
the configured map, never from request metadata: a caller must not be able to pick another
team's budget.

Loaded by the proxy from its config (see ``examples/litellm/``)::

    litellm_settings:
      callbacks: budget_guard_callbacks.proxy_handler_instance

It imports without LiteLLM installed (the hook is then a plain object with the same method), so
it can be built and tested anywhere.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, Mapping, Optional, Tuple

from . import ModelRouter, Route, RouteBlocked

try:  # LiteLLM registers callbacks by type; without it the hook is still callable directly.
    from litellm.integrations.custom_logger import CustomLogger as _Base
except ImportError:  # pragma: no cover - depends on the environment
    _Base = object

__all__ = ["BudgetGuardHook", "RouteRefused"]

# The request fields that cap output, per LiteLLM call type. Call types not listed (embeddings,
# images, ...) produce no output tokens to cap; they are still routed and refused.
_CAP_FIELDS: Dict[str, Tuple[str, ...]] = {
    "completion": ("max_tokens", "max_completion_tokens"),
    "acompletion": ("max_tokens", "max_completion_tokens"),
    "text_completion": ("max_tokens",),
    "atext_completion": ("max_tokens",),
    "anthropic_messages": ("max_tokens",),
    "responses": ("max_output_tokens",),
    "aresponses": ("max_output_tokens",),
}


class RouteRefused(RouteBlocked):
    """The route's budget has stopped it. The proxy turns an exception raised by a pre-call hook
    into its error response from these attributes (``status_code``, ``message``, ``type``).

    400 rather than 429: OpenAI clients retry 429 on their own, and retrying a stopped route
    only repeats the refusal until the budget period rolls over."""

    status_code = 400
    type = "budget_exceeded"

    def __init__(self, route: str, model_id: str) -> None:
        super().__init__(route, model_id)
        self.message = f"route {route!r} is stopped by its budget"


class BudgetGuardHook(_Base):  # type: ignore[misc, valid-type]
    """Rewrites requests for routes from their flags.

    :param router: the :class:`ModelRouter` to read flags with (build it once; its cache bounds
        the SSM calls). Give it the routes' defaults and ladders, as for an application.
    :param routes: ``{litellm_model_name: route}``: which model names are routes. A model name
        that is its own route maps to itself.
    :param model_names: ``{bedrock_model_id: litellm_model_name}`` for models the proxy serves
        under another name; any other model id becomes ``bedrock/<model_id>``.
    """

    def __init__(
        self,
        router: ModelRouter,
        routes: Mapping[str, str],
        model_names: Optional[Mapping[str, str]] = None,
    ) -> None:
        if _Base is not object:
            super().__init__()
        if not routes:
            raise ValueError("routes must name at least one model name and its route")
        self.router = router
        self.routes = dict(routes)
        self.model_names = dict(model_names or {})

    def model_name_for(self, model_id: str) -> str:
        """The LiteLLM model name that calls Bedrock model ``model_id``."""
        return self.model_names.get(model_id, f"bedrock/{model_id}")

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict, call_type: Any
    ) -> dict:
        """LiteLLM's pre-call hook: returns ``data`` rewritten for the route's step, or raises
        :class:`RouteRefused` for a stopped route."""
        model = data.get("model")
        route_name = self.routes.get(model) if isinstance(model, str) else None
        if route_name is None:
            return data
        # route_for may call SSM (once per TTL per route, bounded by the client's timeouts);
        # in a thread, so that the proxy's event loop keeps serving other requests meanwhile.
        try:
            route = await asyncio.to_thread(self.router.route_for, route_name)
        except RouteBlocked as blocked:
            raise RouteRefused(route_name, blocked.model_id) from None
        # Older proxies pass a CallTypes member, newer ones its string value.
        return self._apply(route, data, str(getattr(call_type, "value", call_type)))

    def _apply(self, route: Route, data: dict, call_type: str) -> dict:
        data["model"] = self.model_name_for(route.model_id)
        if route.max_output_tokens is not None:
            fields = _CAP_FIELDS.get(call_type, ())
            present = [name for name in fields if isinstance(data.get(name), int)]
            for name in present:
                data[name] = min(data[name], route.max_output_tokens)
            if fields and not present:
                data[fields[0]] = route.max_output_tokens
        if route.service_tier is not None:
            data["service_tier"] = route.service_tier
        return data
