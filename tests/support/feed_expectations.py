"""Reference answers for the feed tests, computed independently with pandas."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from deployments.charts.tiers import exchange_today
from feeds.market_calendar import session_bounds_utc, trading_days
from feeds.synthetic_market import second_bars


def recent_trading_day(back: int = 1) -> date:
    """The ``back``-th most recent complete trading day before today."""
    today = exchange_today()
    return trading_days(today - timedelta(days=15), today - timedelta(days=1))[-back]


def expected_bars(symbol: str, day: date, interval_s: int, regular_hours: bool) -> pd.DataFrame:
    """The synthetic market's bars of ``day`` resampled by pandas in exchange time."""
    raw = second_bars(symbol, day)
    frame = pd.DataFrame(
        {k: raw[k] for k in "ohlcv"},
        index=pd.to_datetime(raw["t"], unit="s", utc=True).tz_convert("America/New_York"),
    )
    bars = frame.resample(f"{interval_s}s", label="left", closed="left").agg(
        {"o": "first", "h": "max", "l": "min", "c": "last", "v": "sum"}
    ).dropna()
    t = (bars.index.tz_convert("UTC").as_unit("s").asi8).astype(np.int64)
    bars.insert(0, "t", t)
    if regular_hours:
        open_, close = session_bounds_utc(day)
        bars = bars[(bars.t >= open_) & (bars.t < close)]
    return bars.reset_index(drop=True)


def regular_minutes(days: list[date]) -> int:
    """One-minute bars in the regular sessions of ``days`` (390 a day, 210 on early closes)."""
    return sum((session_bounds_utc(day)[1] - session_bounds_utc(day)[0]) // 60 for day in days)


def trading_days_back(count: int, skip: int = 1) -> list[date]:
    """``count`` consecutive complete trading days, ending ``skip`` trading days ago."""
    today = exchange_today()
    days = trading_days(today - timedelta(days=3 * (count + skip) + 10), today - timedelta(days=1))
    return days[len(days) - skip - count + 1: len(days) - skip + 1]


def expected_arrays(symbol: str, days: list[date], interval_s: int
                    ) -> tuple[np.ndarray, ...]:
    """``(t, o, h, l, c, v)`` of :func:`expected_bars` over ``days`` (regular hours)."""
    frames = [expected_bars(symbol, day, interval_s, regular_hours=True) for day in days]
    t = np.concatenate([f.t.to_numpy() for f in frames]).astype(np.int64)
    o, h, l, c, v = (np.concatenate([f[k].to_numpy() for f in frames]).astype(np.float64)
                     for k in "ohlcv")
    return t, o, h, l, c, v
