"""Struct-of-arrays containers for market data as it crosses module boundaries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Bars:
    """OHLCV bars: ``t`` UTC epoch seconds of the bar START (int64), prices and volume float64."""

    t: np.ndarray
    o: np.ndarray
    h: np.ndarray
    l: np.ndarray
    c: np.ndarray
    v: np.ndarray

    def __len__(self) -> int:
        return int(self.t.size)

    @classmethod
    def empty(cls) -> Bars:
        """Bars with no rows."""
        f = np.empty(0, dtype=np.float64)
        return cls(np.empty(0, dtype=np.int64), f, f.copy(), f.copy(), f.copy(), f.copy())

    def columns(self) -> tuple[np.ndarray, ...]:
        """``(t, o, h, l, c, v)``, the argument order of the kernels."""
        return self.t, self.o, self.h, self.l, self.c, self.v


@dataclass(frozen=True)
class Ticks:
    """Trades: ``t_us`` UTC epoch microseconds, price, size, bid, ask and IQFeed's tick id."""

    t_us: np.ndarray
    price: np.ndarray
    size: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    tick_id: np.ndarray

    def __len__(self) -> int:
        return int(self.t_us.size)
