"""EMA crossover: long when the fast exponential moving average crosses above the slow one."""

from __future__ import annotations

import numpy as np

from kernels.crossover_sweep import sweep_ema_cross
from kernels.indicators import crossings, ema
from strategies.spec import Constraint, DedicatedSweep, IndicatorSeries, Param, StrategySpec


def signals(o, h, l, c, v, fast: int, slow: int) -> tuple[np.ndarray, np.ndarray]:
    """Enter on the fast EMA crossing above the slow EMA, exit on the cross below."""
    return crossings(ema(c, fast), ema(c, slow))


def indicators(o, h, l, c, v, fast: int, slow: int) -> list[IndicatorSeries]:
    """Both averages of the close, on the price chart."""
    return [IndicatorSeries(f"EMA {fast}", ema(c, fast)),
            IndicatorSeries(f"EMA {slow}", ema(c, slow))]


STRATEGY = StrategySpec(
    name="ema_cross",
    title="EMA crossover",
    description="Long when the fast exponential moving average crosses above the slow one.",
    params=(
        Param("fast", "int", 12, "Span of the fast average", min=2, max=500, step=1),
        Param("slow", "int", 26, "Span of the slow average", min=3, max=2000, step=1),
    ),
    constraints=(Constraint("fast", "<", "slow"),),
    signals=signals,
    indicators=indicators,
    sweep=DedicatedSweep(inputs=("fast", "slow"), cpu=sweep_ema_cross,
                         cuda="kernels.backtest_cuda:sweep_ema_cross_cuda"),
)
