"""SMA crossover: long when the fast simple moving average crosses above the slow one."""

from __future__ import annotations

import numpy as np

from kernels.crossover_sweep import sweep_sma_cross
from kernels.indicators import crossings, sma
from strategies.spec import Constraint, DedicatedSweep, IndicatorSeries, Param, StrategySpec


def signals(o, h, l, c, v, fast: int, slow: int) -> tuple[np.ndarray, np.ndarray]:
    """Enter on the fast SMA crossing above the slow SMA, exit on the cross below."""
    return crossings(sma(c, fast), sma(c, slow))


def indicators(o, h, l, c, v, fast: int, slow: int) -> list[IndicatorSeries]:
    """Both averages of the close, on the price chart."""
    return [IndicatorSeries(f"SMA {fast}", sma(c, fast)),
            IndicatorSeries(f"SMA {slow}", sma(c, slow))]


STRATEGY = StrategySpec(
    name="sma_cross",
    title="SMA crossover",
    description="Long when the fast simple moving average of the close crosses above the slow "
                "one; out (or short) when it crosses back below.",
    params=(
        Param("fast", "int", 10, "Bars in the fast average", min=2, max=500, step=1),
        Param("slow", "int", 30, "Bars in the slow average", min=3, max=2000, step=1),
    ),
    constraints=(Constraint("fast", "<", "slow"),),
    signals=signals,
    indicators=indicators,
    sweep=DedicatedSweep(inputs=("fast", "slow"), cpu=sweep_sma_cross,
                         cuda="kernels.backtest_cuda:sweep_sma_cross_cuda"),
)
