"""MACD signal-line cross: buy when MACD crosses above its signal line."""

from __future__ import annotations

import numpy as np

from kernels.indicators import crossings, ema
from strategies.spec import Constraint, IndicatorSeries, Param, StrategySpec


def lines(c: np.ndarray, fast: int, slow: int, signal: int) -> tuple[np.ndarray, np.ndarray]:
    """``(macd, signal_line)``: fast EMA - slow EMA of the close, and its own EMA."""
    macd = ema(c, fast) - ema(c, slow)
    return macd, ema(macd, signal)


def signals(o, h, l, c, v, fast: int, slow: int, signal: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """Enter on MACD (fast EMA - slow EMA) crossing above its EMA, exit on the cross below."""
    return crossings(*lines(c, fast, slow, signal))


def indicators(o, h, l, c, v, fast: int, slow: int, signal: int) -> list[IndicatorSeries]:
    """MACD, its signal line and their difference as a histogram, in a MACD pane."""
    macd, signal_line = lines(c, fast, slow, signal)
    return [IndicatorSeries(f"MACD ({fast}, {slow})", macd, pane="macd"),
            IndicatorSeries(f"Signal ({signal})", signal_line, pane="macd"),
            IndicatorSeries("Histogram", macd - signal_line, pane="macd", style="histogram")]


STRATEGY = StrategySpec(
    name="macd_cross",
    title="MACD signal cross",
    description="Long when the MACD line crosses above its signal line; out when it crosses "
                "below.",
    params=(
        Param("fast", "int", 12, "Span of the fast EMA", min=2, max=200, step=1),
        Param("slow", "int", 26, "Span of the slow EMA", min=3, max=500, step=1),
        Param("signal", "int", 9, "Span of the signal line", min=2, max=200, step=1),
    ),
    constraints=(Constraint("fast", "<", "slow"),),
    signals=signals,
    indicators=indicators,
)
