"""The ``strategies`` Serve application, mounted at ``/strategies``: the strategy registry.

``GET /`` lists every strategy with its parameters (type, default, bounds), constraints and
description, plus the modules that failed to load and why. Strategy files dropped into
``STRATEGIES_DIR`` appear on the next request; the built-ins load once at start.
"""

import asyncio

from ray import serve

from deployments.common.http_app import builder, configure, make_api
from deployments.common.settings import Settings
from strategies.registry import LiveRegistry

api = make_api("Strategies", "The trading strategies and their parameters.", errors=())


@serve.deployment
@serve.ingress(api)
class StrategiesIngress:
    """Serves the registry; rescans the extra directory only when its files changed."""

    def __init__(self, settings: Settings) -> None:
        configure(api, settings)
        self._registry = LiveRegistry(settings.strategies_dir)

    @api.get("/")
    async def strategies(self) -> dict[str, object]:
        """Every strategy with its parameters and constraints; modules that failed to load."""
        registry = await asyncio.to_thread(self._registry.current)
        return {
            "strategies": [spec.as_json() for spec in registry.strategies.values()],
            "failed": registry.failures,
        }


build = builder(StrategiesIngress)
