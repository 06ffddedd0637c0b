"""MACD signal-line cross: buy when MACD crosses above its signal line."""

from __future__ import annotations

import numpy as np

from kernels.indicators import crossings, ema
from strategies.spec import Constraint, Param, StrategySpec


def signals(o, h, l, c, v, fast: int, slow: int, signal: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """Enter on MACD (fast EMA - slow EMA) crossing above its EMA, exit on the cross below."""
    macd = ema(c, fast) - ema(c, slow)
    return crossings(macd, ema(macd, signal))


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
)
