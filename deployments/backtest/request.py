"""Request bodies of /backtest and /optimize: the chart, the strategy and the trading settings.

Every ratio is a fraction, never a percent. Unknown fields and non-finite numbers are refused.
"""

import asyncio
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from deployments.common.errors import FieldError
from deployments.common.fields import (
    END_DESCRIPTION,
    INTERVAL_DESCRIPTION,
    INTERVAL_PATTERN,
    MOMENT_PATTERN,
    START_DESCRIPTION,
    STRATEGY_DESCRIPTION,
    STRATEGY_PATTERN,
    SYMBOL_DESCRIPTION,
    SYMBOL_PATTERN,
)
from kernels.backtest import METRICS, pack_params
from strategies.registry import LiveRegistry
from strategies.spec import StrategySpec

DIRECTIONS = {"long": 0, "short": 1, "both": 2}


async def find_strategy(registry: LiveRegistry, name: str) -> StrategySpec:
    """The strategy called ``name`` (the registry reloaded off the event loop if its files
    changed); FieldError (422) on ``strategy`` if there is none."""
    spec = (await asyncio.to_thread(registry.current)).strategies.get(name)
    if spec is None:
        raise FieldError("strategy", f"unknown strategy {name!r}; see /strategies")
    return spec


class TradingRequest(BaseModel):
    """What a backtest and an optimization share: strategy, chart and trading settings."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    strategy: str = Field(pattern=STRATEGY_PATTERN, description=STRATEGY_DESCRIPTION,
                          examples=["sma_cross"])
    symbol: str = Field(pattern=SYMBOL_PATTERN, description=SYMBOL_DESCRIPTION,
                        examples=["AAPL"])
    interval: str = Field(pattern=INTERVAL_PATTERN, description=INTERVAL_DESCRIPTION,
                          examples=["5m"])
    start: str = Field(pattern=MOMENT_PATTERN, description=START_DESCRIPTION)
    end: str = Field(pattern=MOMENT_PATTERN, description=END_DESCRIPTION)
    rth: bool = True
    direction: Literal["long", "short", "both"] = "long"
    fill: Literal["next_open", "close"] = "next_open"
    commission: float = Field(0.0, ge=0, le=0.1, description="Fraction of traded value")
    commission_fixed: float = Field(0.0, ge=0, description="Currency per order")
    slippage: float = Field(0.0, ge=0, le=0.1, description="Fraction of the price")
    stop_loss: float | None = Field(None, gt=0, lt=1, description="Fraction of the entry")
    take_profit: float | None = Field(None, gt=0, le=100, description="Fraction of the entry")
    trailing_stop: float | None = Field(
        None, gt=0, lt=1, description="Fraction below (short: above) the best price since entry")
    exit_after_bars: int | None = Field(
        None, ge=1, le=10_000_000, description="Close at the close of the N-th bar after entry")
    size_fraction: float = Field(1.0, gt=0, le=1)
    initial_cash: float = Field(100_000.0, gt=0)

    def packed_params(self) -> np.ndarray:
        """The trading settings as the kernels' parameter array."""
        return pack_params(DIRECTIONS[self.direction], self.fill == "close", self.commission,
                           self.commission_fixed, self.slippage, self.stop_loss or 0.0,
                           self.take_profit or 0.0, self.size_fraction, self.initial_cash,
                           self.trailing_stop or 0.0, self.exit_after_bars or 0)


class BacktestIn(TradingRequest):
    """Body of ``POST /backtest``."""

    params: dict[str, Any] = Field(default_factory=dict, examples=[{"fast": 10, "slow": 30}],
                                   description="The strategy's parameters; defaults fill in")


class WalkForward(BaseModel):
    """Walk-forward analysis: best parameters chosen in-sample, scored out-of-sample."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    splits: int = Field(3, ge=1, le=50, description="Consecutive windows the range is cut in")
    oos_fraction: float = Field(0.3, gt=0, lt=1,
                                description="Fraction of each window held out of sample")


class OptimizeIn(TradingRequest):
    """Body of ``POST /optimize``."""

    grid: dict[str, Any] = Field(
        description='Per parameter {"min", "max", "step"} or a list of values; '
                    "parameters left out keep their default",
        examples=[{"fast": {"min": 5, "max": 15, "step": 5}, "slow": [30, 50]}])
    objective: Literal[METRICS] = Field("sharpe", description="Metric to rank by")  # type: ignore[valid-type]
    walk_forward: WalkForward | None = None
    top_n: int = Field(20, ge=1, le=1000, description="Rows of the best-first table")
