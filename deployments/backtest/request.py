"""Request bodies of /backtest and /optimize: the chart, the strategy and the trading settings.

Every ratio is a fraction, never a percent. Unknown fields and non-finite numbers are refused.
"""

import asyncio
from typing import Annotated, Any, Literal

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
from kernels.backtest import ENTRY_TYPES, METRICS, SIZING_MODES, pack_params
from strategies.registry import LiveRegistry
from strategies.spec import StrategySpec

DIRECTIONS = {"long": 0, "short": 1, "both": 2}
DEFAULT_TRIALS = 500
"""Trials of a random or Bayesian search that does not say."""
SAMPLED_GRID_FACTOR = 5
"""A random or Bayesian search may span a grid this many times OPTIMIZE_MAX_COMBINATIONS."""
OBJECTIVES = tuple(name for name in METRICS if name != "intrabar_resolved")
"""Metrics an optimization may rank by (the intrabar count describes the run, not its
merit)."""


async def find_strategy(registry: LiveRegistry, name: str) -> StrategySpec:
    """The strategy called ``name`` (the registry reloaded off the event loop if its files
    changed); FieldError (422) on ``strategy`` if there is none."""
    spec = (await asyncio.to_thread(registry.current)).strategies.get(name)
    if spec is None:
        raise FieldError("strategy", f"unknown strategy {name!r}; see /strategies")
    return spec


class EntryOrder(BaseModel):
    """How a position is entered after its signal."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    type: Literal[ENTRY_TYPES] = Field(  # type: ignore[valid-type]
        "market", description="market: at the fill (next open or close); limit: below (short: "
        "above) the signal close by offset; stop: above (short: below) it")
    offset: float = Field(0.0, ge=0, le=0.5, description="Fraction of the signal bar's close")
    valid_bars: int = Field(1, ge=1, le=100_000,
                            description="Bars after the signal the order may fill on")


class Sizing(BaseModel):
    """How big each position is."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    mode: Literal[SIZING_MODES] = Field(  # type: ignore[valid-type]
        "equity_fraction", description="equity_fraction: that fraction of the equity; cash: "
        "that amount; units: that many units; risk: lose that fraction of the equity if the "
        "stop is hit (needs stop_loss or trailing_stop)")
    value: float = Field(gt=0, le=1e12, description="The mode's value")


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
    flat_at_close: bool = Field(
        False, description="Hold nothing over a session end: exit at each session's last close")
    entry: EntryOrder = Field(default_factory=EntryOrder)
    sizing: Sizing | None = Field(None, description="Default: all of the equity")
    size_fraction: float | None = Field(
        None, gt=0, le=1, description='Shorthand for sizing {"mode": "equity_fraction"}')
    whole_units: bool = Field(False, description="Round each position down to whole units")
    initial_cash: float = Field(100_000.0, gt=0, le=1e12)
    intrabar: Literal["pessimistic", "base_bars"] = Field(
        "pessimistic", description="When one bar reaches several order levels: assume the "
        "stop first, or replay the stored 1-second (else 1-minute) bars inside it")

    def checked_sizing(self) -> Sizing:
        """The sizing, ``size_fraction`` read as its shorthand; FieldError when the two
        disagree or the mode's value is out of its range."""
        if self.sizing is not None and self.size_fraction is not None:
            raise FieldError("size_fraction", "give sizing or size_fraction, not both")
        sizing = self.sizing or Sizing(value=self.size_fraction or 1.0)
        if sizing.mode in ("equity_fraction", "risk") and sizing.value > 1:
            raise FieldError("sizing.value", f"a fraction of at most 1 for {sizing.mode}")
        if sizing.mode == "risk" and not (self.stop_loss or self.trailing_stop):
            raise FieldError("sizing.mode", "risk sizing needs stop_loss or trailing_stop")
        return sizing

    def packed_params(self) -> np.ndarray:
        """The trading settings as the kernels' parameter array (FieldError as
        :meth:`checked_sizing`)."""
        sizing = self.checked_sizing()
        return pack_params(DIRECTIONS[self.direction], self.fill == "close", self.commission,
                           self.commission_fixed, self.slippage, self.stop_loss or 0.0,
                           self.take_profit or 0.0, sizing.value, self.initial_cash,
                           self.trailing_stop or 0.0, self.exit_after_bars or 0,
                           entry_type=ENTRY_TYPES.index(self.entry.type),
                           entry_offset=self.entry.offset,
                           entry_valid_bars=self.entry.valid_bars,
                           flat_at_close=self.flat_at_close,
                           sizing_mode=SIZING_MODES.index(sizing.mode),
                           whole_units=self.whole_units)


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


class MonteCarlo(BaseModel):
    """Trade-order bootstrap of the best rows: bands of their final return and drawdown."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    paths: int = Field(1000, ge=100, le=100_000, description="Resampled trade sequences")
    top: int = Field(5, ge=1, le=20, description="Rows of the top table to resample")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Same seed, same bands")


class SearchSpec(BaseModel):
    """How the grid is searched."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    method: Literal["grid", "random", "bayesian"] = Field(
        "grid", description="grid: every combination; random: a seeded sample; bayesian: "
        "Optuna (TPE; CMA-ES when every swept parameter is a float) in ask/tell batches")
    trials: int | None = Field(None, ge=1, le=10_000_000,
                               description="Combinations to evaluate (random, bayesian; "
                               "default 500); grid evaluates all")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Same seed, same trials")


class OptimizeIn(TradingRequest):
    """Body of ``POST /optimize``."""

    grid: dict[str, Any] = Field(
        description='Per parameter {"min", "max", "step"} or a list of values; '
                    "parameters left out keep their default",
        examples=[{"fast": {"min": 5, "max": 15, "step": 5}, "slow": [30, 50]}])
    objective: Literal[OBJECTIVES] = Field("sharpe", description="Metric to rank by")  # type: ignore[valid-type]
    walk_forward: WalkForward | None = None
    top_n: int = Field(20, ge=1, le=1000, description="Rows of the best-first table")
    min_trades: int = Field(
        10, ge=0, le=10_000_000,
        description="Combinations with fewer trades stay on the surface but never rank")
    select: Literal["peak", "plateau"] = Field(
        "peak", description="Rank by the objective, or by its mean over each combination's "
        "grid neighbours (robust to one lucky cell)")
    monte_carlo: MonteCarlo | None = None
    search: SearchSpec = Field(default_factory=SearchSpec)
    symbols: list[Annotated[str, Field(pattern=SYMBOL_PATTERN)]] | None = Field(
        None, min_length=1, max_length=50,
        description="Sweep these symbols (an axis of the surface) instead of symbol")
    intervals: list[Annotated[str, Field(pattern=INTERVAL_PATTERN)]] | None = Field(
        None, min_length=1, max_length=12,
        description="Sweep these intervals (an axis of the surface) instead of interval")

    def trial_count(self, combinations: int) -> int:
        """How many combinations the search evaluates out of the grid's ``combinations``."""
        if self.search.method == "grid":
            return combinations
        return min(combinations, self.search.trials or DEFAULT_TRIALS)
