"""RSI mean reversion: buy oversold, sell when overbought."""

from __future__ import annotations

import numpy as np

from kernels.indicators import rsi
from strategies.spec import Constraint, IndicatorSeries, Param, StrategySpec


def signals(o, h, l, c, v, window: int, lower: float, upper: float
            ) -> tuple[np.ndarray, np.ndarray]:
    """Enter when RSI is below ``lower``, exit when it is above ``upper``."""
    value = rsi(c, window)
    return value < lower, value > upper


def indicators(o, h, l, c, v, window: int, lower: float, upper: float
               ) -> list[IndicatorSeries]:
    """RSI in its own pane, with the strategy's oversold and overbought levels."""
    return [IndicatorSeries(f"RSI {window}", rsi(c, window), pane="rsi", levels=(lower, upper))]


STRATEGY = StrategySpec(
    name="rsi_reversion",
    title="RSI mean reversion",
    description="Long while Wilder's RSI is oversold (below lower); out when it is overbought "
                "(above upper).",
    params=(
        Param("window", "int", 14, "RSI window in bars", min=2, max=200, step=1),
        Param("lower", "float", 30.0, "Oversold level", min=1, max=99, step=1),
        Param("upper", "float", 70.0, "Overbought level", min=1, max=99, step=1),
    ),
    constraints=(Constraint("lower", "<", "upper"),),
    signals=signals,
    indicators=indicators,
)
