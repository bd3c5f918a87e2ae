"""The Budget Guard hook for the LiteLLM proxy of config.yaml beside this file.

One router for the proxy process: its cache makes at most one SSM GetParameter per route per
30 seconds, however many requests the proxy serves. The SSM client is boto3's default (region
and credentials from the proxy's environment) with 2-second timeouts.
"""

from budget_guard_router import ModelRouter
from budget_guard_router.litellm_hook import BudgetGuardHook

# Each route's ladder, top first, as in the Budget Guard policy: a flag naming another model is
# not served, and the top is served while there is no flag.
LADDERS = {
    "support-chatbot": [
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "us.amazon.nova-lite-v1:0",
    ],
}

proxy_handler_instance = BudgetGuardHook(
    router=ModelRouter(
        defaults={route: ladder[0] for route, ladder in LADDERS.items()},
        fallback_model="us.amazon.nova-lite-v1:0",
        allowed_models=LADDERS,
    ),
    # The proxy's model name for each route: here the route's own name.
    routes={route: route for route in LADDERS},
)
