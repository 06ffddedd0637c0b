"""Donchian breakout: buy a close above the prior highest high, sell below the prior lowest low."""

from __future__ import annotations

import numpy as np

from kernels.indicators import rolling_max, rolling_min
from strategies.spec import IndicatorSeries, Param, StrategySpec


def _previous(x: np.ndarray) -> np.ndarray:
    return np.concatenate((np.array([np.nan]), x[:-1]))


def channel(h: np.ndarray, l: np.ndarray, entry_window: int, exit_window: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """``(upper, lower)``: the highest high of the previous ``entry_window`` bars and the
    lowest low of the previous ``exit_window`` bars (the current bar excluded)."""
    return _previous(rolling_max(h, entry_window)), _previous(rolling_min(l, exit_window))


def signals(o, h, l, c, v, entry_window: int, exit_window: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """Enter when the close breaks the highest high of the previous ``entry_window`` bars,
    exit when it breaks the lowest low of the previous ``exit_window`` bars."""
    upper, lower = channel(h, l, entry_window, exit_window)
    return c > upper, c < lower


def indicators(o, h, l, c, v, entry_window: int, exit_window: int) -> list[IndicatorSeries]:
    """The entry channel's high and the exit channel's low, on the price chart."""
    upper, lower = channel(h, l, entry_window, exit_window)
    return [IndicatorSeries(f"Donchian high {entry_window}", upper),
            IndicatorSeries(f"Donchian low {exit_window}", lower)]


STRATEGY = StrategySpec(
    name="donchian_breakout",
    title="Donchian channel breakout",
    description="Long on a close above the channel's high (the previous entry_window bars); "
                "out on a close below the low of the previous exit_window bars.",
    params=(
        Param("entry_window", "int", 20, "Bars in the entry channel", min=2, max=1000, step=1),
        Param("exit_window", "int", 10, "Bars in the exit channel", min=2, max=1000, step=1),
    ),
    signals=signals,
    indicators=indicators,
)
