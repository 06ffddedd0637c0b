"""Bollinger band reversion: buy a close below the lower band, sell back at the middle band."""

from __future__ import annotations

import numpy as np

from kernels.indicators import rolling_std, sma
from strategies.spec import IndicatorSeries, Param, StrategySpec


def bands(c: np.ndarray, window: int, width: float) -> tuple[np.ndarray, ...]:
    """``(upper, middle, lower)``: the mean of the close and ``width`` deviations either side."""
    mean = sma(c, window)
    spread = width * rolling_std(c, window)
    return mean + spread, mean, mean - spread


def signals(o, h, l, c, v, window: int, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Enter below ``mean - width * std``, exit at or above the mean."""
    _, middle, lower = bands(c, window, width)
    return c < lower, c >= middle


def indicators(o, h, l, c, v, window: int, width: float) -> list[IndicatorSeries]:
    """The three bands, on the price chart."""
    upper, middle, lower = bands(c, window, width)
    label = f"({window}, {width:g})"
    return [IndicatorSeries(f"BB upper {label}", upper),
            IndicatorSeries(f"BB middle {label}", middle),
            IndicatorSeries(f"BB lower {label}", lower)]


STRATEGY = StrategySpec(
    name="bollinger_reversion",
    title="Bollinger band reversion",
    description="Long when the close falls below the lower Bollinger band; out when it gets "
                "back to the middle band.",
    params=(
        Param("window", "int", 20, "Bars in the band's mean and deviation", min=2, max=500,
              step=1),
        Param("width", "float", 2.0, "Band width in standard deviations", min=0.5, max=5,
              step=0.1),
    ),
    signals=signals,
    indicators=indicators,
)
