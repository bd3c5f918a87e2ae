"""Picks the Amazon Bedrock model id for a route from its Budget Guard routing flag.

The Python twin of ``crates/model-router``. Budget Guard keeps one routing flag per route in
SSM Parameter Store (by default ``/budget-guard/routes/<route>``), a JSON document the
alert-handler writes when a budget is crossed or a budget period rolls over. Version 1 carries
``model_id``; version 2 adds ``service_tier``, ``max_output_tokens`` and ``blocked``.

:class:`ModelRouter` reads the flag and hands back what to call, cached, with the same
guarantees as the Rust router:

- at most one ``GetParameter`` call per route per TTL (default 30 s) per router, however many
  threads ask at once: GetParameter's default throughput is 40 requests per second per account,
  so every request reading SSM would throttle the application and everyone else in the account;
- when SSM fails (throttling, network, access denied, a value that is not a flag) it keeps
  serving the last good value and tries again after the TTL, not on every call, so an SSM
  outage neither stops the application nor hammers SSM;
- when there is no value (the parameter does not exist, or SSM failed before the first
  success) it serves the route's default model, or else the router's fallback: no flag means
  no routing decision stands, which is the top of the ladder;
- when the route has allowed models (its ladder in the policy) and the flag names another
  model, it serves the route's default model and logs a warning: a mistyped or tampered flag
  must not route traffic to an arbitrary (possibly costlier) model.

The parameter's value is never logged (only the model id it names, which is not secret).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Mapping, Optional

__all__ = [
    "DEFAULT_FLAGS_PATH",
    "DEFAULT_TTL_SECONDS",
    "FlagError",
    "ModelRouter",
    "Resolution",
    "Route",
    "RouteBlocked",
]

DEFAULT_TTL_SECONDS: float = 30.0
DEFAULT_FLAGS_PATH: str = "/budget-guard/routes/"

# Longest model id accepted (Bedrock model ids and ARNs fit well within it).
_MAX_MODEL_ID_LEN = 2048
# Longest fully qualified SSM parameter name.
_MAX_PARAMETER_NAME_LEN = 1011
_ROUTE_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_THROTTLING_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)
_ACCESS_DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied"})
_SERVICE_TIERS = frozenset({"flex", "priority"})

log = logging.getLogger("budget_guard_router")
# A library leaves handlers to the application (no "no handler" noise when it configures none).
log.addHandler(logging.NullHandler())


@dataclass(frozen=True)
class FlagError:
    """Why the latest refresh did not give a flag. ``kind`` is one of ``not_found``,
    ``throttled``, ``access_denied``, ``unreachable``, ``service``, ``invalid_value``,
    ``invalid_route``. ``detail`` never quotes the parameter's value."""

    kind: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}" if self.detail else self.kind


@dataclass(frozen=True)
class Route:
    """What to call for a route: the Bedrock ``modelId``, the Converse ``serviceTier``
    (``"flex"``, ``"priority"`` or ``None`` for Standard) and the output cap (``None``: no cap).
    ``blocked`` is always ``False`` in a route returned: a blocked route raises
    :class:`RouteBlocked` instead, so that callers cannot forget to check it."""

    model_id: str
    service_tier: Optional[str] = None
    max_output_tokens: Optional[int] = None
    blocked: bool = False


@dataclass(frozen=True)
class Resolution:
    """The answer for a route and where it came from.

    ``source`` is ``"flag"`` (just read), ``"cached"`` (read within the TTL), ``"stale"`` (the
    last good value; ``error`` says why the refresh failed), ``"default"`` (no flag: the route's
    default or the fallback) or ``"off_ladder"`` (the flag named ``rejected_model_id``, which is
    not among the route's allowed models; the default is served)."""

    model_id: str
    source: str
    route: Route
    error: Optional[FlagError] = None
    rejected_model_id: Optional[str] = None


class RouteBlocked(Exception):
    """The route's budget has stopped it (the flag's ``"blocked": true``): make no call.

    ``model_id`` is the step above ``stop``'s model, for callers that log it."""

    def __init__(self, route: str, model_id: str) -> None:
        super().__init__(f"route {route!r} is blocked by its budget")
        self.route = route
        self.model_id = model_id


@dataclass(frozen=True)
class _Flag:
    model_id: str
    service_tier: Optional[str]
    max_output_tokens: Optional[int]
    blocked: bool


class _InvalidValue(Exception):
    """A value that is not a flag this reader can honour; the message never quotes it."""


def _parse_flag(value: str) -> _Flag:
    """Reads ``model_id`` and the version-2 step fields. Unknown and missing optional fields are
    fine (newer writers may add fields); a field this reader cannot honour is an error, so that
    a cap or a block is never silently dropped."""
    try:
        document = json.loads(value)
    except ValueError as error:
        lineno = getattr(error, "lineno", "?")
        colno = getattr(error, "colno", "?")
        raise _InvalidValue(f"not valid JSON (line {lineno}, column {colno})") from None
    if not isinstance(document, dict):
        raise _InvalidValue("not a JSON object")
    model_id = document.get("model_id")
    if model_id is None:
        raise _InvalidValue("no `model_id`")
    if not isinstance(model_id, str):
        raise _InvalidValue("`model_id` is not a string")
    if not _valid_model_id(model_id):
        raise _InvalidValue("`model_id` is empty, too long, or has whitespace or control characters")
    tier = document.get("service_tier")
    if tier is not None and (not isinstance(tier, str) or tier not in _SERVICE_TIERS):
        raise _InvalidValue("`service_tier` is not `flex` or `priority`")
    cap = document.get("max_output_tokens")
    if cap is not None:
        # bool is an int in Python; a JSON true is not a count.
        if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= 0xFFFFFFFF:
            raise _InvalidValue("`max_output_tokens` is not a count of 1 or more")
    blocked = document.get("blocked")
    if blocked is None:
        blocked = False
    elif not isinstance(blocked, bool):
        raise _InvalidValue("`blocked` is not true or false")
    return _Flag(model_id, tier, cap, blocked)


def _valid_model_id(model_id: str) -> bool:
    return 0 < len(model_id) <= _MAX_MODEL_ID_LEN and all("!" <= c <= "~" for c in model_id)


def _classify(error: Exception) -> FlagError:
    """Maps a botocore error to a :class:`FlagError` by its error code."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code") or ""
        if code == "ParameterNotFound":
            return FlagError("not_found")
        if code in _THROTTLING_CODES:
            return FlagError("throttled", code)
        if code in _ACCESS_DENIED_CODES:
            return FlagError("access_denied", code)
        return FlagError("service", code)
    if isinstance(error, BotoCoreError):
        return FlagError("unreachable", type(error).__name__)
    return FlagError("unreachable", type(error).__name__)


class _Slot:
    """One route's cache entry. ``refresh`` lets one thread call SSM at a time; ``state`` guards
    the fields so readers within the TTL never wait for a refresh in flight."""

    def __init__(self, parameter: Optional[str], default_model: str, allowed: Optional[frozenset]):
        self.parameter = parameter
        self.default_model = default_model
        self.allowed = allowed
        self.refresh = threading.Lock()
        self.state = threading.Lock()
        self.last_read: Optional[_Flag] = None
        self.error: Optional[FlagError] = None
        self.checked_at: Optional[float] = None

    def allows(self, model_id: str) -> bool:
        return self.allowed is None or model_id in self.allowed

    def answer(self, fresh: str) -> Resolution:
        """The answer from the state; call with ``state`` held."""
        flag, error = self.last_read, self.error
        if flag is not None and not self.allows(flag.model_id):
            return Resolution(
                self.default_model,
                "off_ladder",
                Route(self.default_model),
                error,
                rejected_model_id=flag.model_id,
            )
        if flag is not None:
            route = Route(flag.model_id, flag.service_tier, flag.max_output_tokens, flag.blocked)
            if error is None:
                return Resolution(flag.model_id, fresh, route)
            return Resolution(flag.model_id, "stale", route, error)
        return Resolution(self.default_model, "default", Route(self.default_model), error)


class ModelRouter:
    """Reads routes' flags from SSM through a per-route TTL cache. Build it once per process
    and share it between threads: the cache, and so the bound on SSM calls, is per router.

    :param defaults: each route's default model (the top of its ladder), served when there is no
        flag, before the first successful read, and in place of an off-ladder flag.
    :param fallback_model: served for routes without a default.
    :param ttl_seconds: how long an answer (or a failure) stands before the next ``GetParameter``.
    :param flags_path: the parameters' prefix; a route's flag is ``flags_path + route``.
    :param ssm_client: a boto3 SSM client; by default one with short timeouts, so that a refresh
        against an unreachable SSM holds the route's callers for seconds, not minutes.
    :param allowed_models: each route's ladder; a flag naming another model is not served.
    :param clock: seconds from a monotonic clock (``time.monotonic``); injectable for tests.
    """

    def __init__(
        self,
        defaults: Optional[Mapping[str, str]] = None,
        fallback_model: str = "",
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        flags_path: str = DEFAULT_FLAGS_PATH,
        ssm_client: Any = None,
        allowed_models: Optional[Mapping[str, Iterable[str]]] = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not fallback_model or not _valid_model_id(fallback_model):
            raise ValueError("fallback_model must be a model id")
        defaults = dict(defaults or {})
        for route, model in defaults.items():
            if not _valid_model_id(model):
                raise ValueError(f"default model of route {route!r} is not a model id")
        if ttl_seconds < 0:
            raise ValueError("ttl_seconds must not be negative")
        if not re.match(r"^/[A-Za-z0-9_.\-/]*$", flags_path):
            raise ValueError("flags_path must start with '/' and hold only A-Z a-z 0-9 _ . - /")
        allowed = {route: frozenset(models) for route, models in (allowed_models or {}).items()}
        if ssm_client is None:
            import boto3
            from botocore.config import Config

            ssm_client = boto3.client(
                "ssm",
                config=Config(connect_timeout=2, read_timeout=2, retries={"max_attempts": 2}),
            )
        self._defaults = defaults
        self._fallback = fallback_model
        self._ttl = float(ttl_seconds)
        self._flags_path = flags_path
        self._ssm = ssm_client
        self._allowed = allowed
        self._clock = clock
        self._slots: Dict[str, _Slot] = {}
        self._slots_lock = threading.Lock()

    def parameter_name(self, route: str) -> Optional[str]:
        """The SSM parameter holding ``route``'s flag, or ``None`` when the name is not usable
        (only letters, digits, ``_``, ``.`` and ``-``: a route must not reach other parameters)."""
        if not _ROUTE_RE.match(route) or len(self._flags_path) + len(route) > _MAX_PARAMETER_NAME_LEN:
            return None
        return self._flags_path + route

    def model_for(self, route: str) -> str:
        """The model id for ``route`` (version-1 behaviour: ignores the tier, the cap and the
        block; use :meth:`route_for` to honour them)."""
        return self.resolve(route).model_id

    def route_for(self, route: str) -> Route:
        """What to call for ``route``; raises :class:`RouteBlocked` when its budget stopped it."""
        resolution = self.resolve(route)
        if resolution.route.blocked:
            raise RouteBlocked(route, resolution.model_id)
        return resolution.route

    def resolve(self, route: str) -> Resolution:
        """The answer for ``route`` and where it came from.

        Within the TTL of the latest refresh the cached answer is returned at once. Otherwise one
        thread reads the flag while the others asking for the same route wait for it, then find
        the fresh entry (single flight)."""
        slot = self._slot(route)
        if slot.parameter is None:
            return Resolution(
                slot.default_model, "default", Route(slot.default_model), FlagError("invalid_route")
            )
        cached = self._cached(slot)
        if cached is not None:
            return cached
        with slot.refresh:
            cached = self._cached(slot)
            if cached is not None:
                return cached
            return self._apply(route, slot, self._fetch(slot.parameter))

    def _slot(self, route: str) -> _Slot:
        with self._slots_lock:
            slot = self._slots.get(route)
            if slot is None:
                slot = _Slot(
                    self.parameter_name(route),
                    self._defaults.get(route, self._fallback),
                    self._allowed.get(route),
                )
                self._slots[route] = slot
            return slot

    def _cached(self, slot: _Slot) -> Optional[Resolution]:
        with slot.state:
            if slot.checked_at is not None and self._clock() - slot.checked_at < self._ttl:
                return slot.answer("cached")
        return None

    def _fetch(self, parameter: str) -> "_Flag | FlagError":
        try:
            output = self._ssm.get_parameter(Name=parameter)
        except Exception as error:  # any failure keeps the last good value; classified below
            return _classify(error)
        value = output.get("Parameter", {}).get("Value")
        if value is None:
            return FlagError("invalid_value", "the parameter has no value")
        try:
            return _parse_flag(value)
        except _InvalidValue as error:
            return FlagError("invalid_value", str(error))

    def _apply(self, route: str, slot: _Slot, result: "_Flag | FlagError") -> Resolution:
        """Records a refresh's outcome and answers from it. Logs model ids and error kinds,
        never the parameter's value."""
        with slot.state:
            if isinstance(result, _Flag):
                if not slot.allows(result.model_id):
                    log.warning(
                        "routing flag model is not among the route's allowed models; serving the "
                        "default model (route=%s parameter=%s flag_model=%s served_model=%s)",
                        route, slot.parameter, result.model_id, slot.default_model,
                    )
                elif slot.last_read is None or slot.last_read.model_id != result.model_id:
                    log.info("routing flag model (route=%s model_id=%s)", route, result.model_id)
                slot.last_read = result
                slot.error = None
            elif result.kind == "not_found":
                # No flag (or no longer one): no routing decision stands, so the route goes back
                # to its default rather than keeping a value that was removed.
                if slot.last_read is not None or slot.error != result:
                    log.info(
                        "no routing flag; serving the default model (route=%s parameter=%s "
                        "default_model=%s)", route, slot.parameter, slot.default_model,
                    )
                slot.last_read = None
                slot.error = result
            else:
                kept = "the last good model" if slot.last_read is not None else "the default model"
                log.warning(
                    "routing flag refresh failed; serving %s (route=%s parameter=%s error=%s)",
                    kept, route, slot.parameter, result,
                )
                slot.error = result
            slot.checked_at = self._clock()
            return slot.answer("flag")
