"""Resampling one quarter of 1-second bars: ours vs pandas vs polars vs the read floor.

Data: 63 regular sessions (09:30-16:00 New York) of 1-second bars with ~30% of the seconds
empty (~1.03M rows). Per interval (5s, 1m, 5m, 1h) it prints our kernel, pandas
``resample().agg()``, polars ``group_by_dynamic`` (both checked to give identical bars) and the
read floor (summing the six input arrays once), then deriving every standard interval against
the single 1m resample. Best of several runs each; peers get pre-built frames (not timed).
Targets: faster than polars at every interval, <= 1.5x the read floor, derive-all <= 2x 1m.
"""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pandas as pd
import polars as pl

from feeds.eastern_time import offset_table
from feeds.market_calendar import session_bounds_utc, trading_days
from kernels.resample import derive_standard, resample_intraday

ANCHOR = 9 * 3600 + 1800
INTERVALS = {"5s": 5, "1m": 60, "5m": 300, "1h": 3600}
NY = "America/New_York"


def _quarter() -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(7)
    days = trading_days(date(2024, 1, 2), date(2024, 4, 30))[:63]
    seconds = np.concatenate([np.arange(*session_bounds_utc(d), dtype=np.int64) for d in days])
    t = seconds[rng.random(seconds.size) >= 0.3]
    close = (100 + np.cumsum(rng.normal(0, 0.01, t.size))).round(2)
    open_ = np.r_[close[0], close[:-1]]
    high = (np.maximum(open_, close) + rng.random(t.size) * 0.05).round(2)
    low = (np.minimum(open_, close) - rng.random(t.size) * 0.05).round(2)
    volume = rng.integers(1, 1000, t.size).astype(np.float64)
    return t, open_, high, low, close, volume


def _best(func, repeat: int = 7) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - began)
    return min(times), result


def _pandas_frame(columns) -> pd.DataFrame:
    t, o, h, l, c, v = columns
    index = pd.to_datetime(t, unit="s", utc=True).tz_convert(NY)
    return pd.DataFrame({"o": o, "h": h, "l": l, "c": c, "v": v}, index=index)


def _pandas(frame: pd.DataFrame, seconds: int) -> pd.DataFrame:
    grouped = frame.resample(f"{seconds}s", offset="9h30min", label="left", closed="left")
    bars = grouped.agg({"o": "first", "h": "max", "l": "min", "c": "last", "v": "sum"})
    return bars[grouped.size() > 0]


def _polars(frame: pl.DataFrame, seconds: int) -> pl.DataFrame:
    return frame.group_by_dynamic(
        "ts", every=f"{seconds}s", offset="9h30m" if seconds >= 3600 else "0s",
        closed="left", label="left",
    ).agg(pl.col("o").first(), pl.col("h").max(), pl.col("l").min(), pl.col("c").last(),
          pl.col("v").sum())


def _check(ours, pandas_bars: pd.DataFrame, polars_bars: pl.DataFrame) -> None:
    t = pandas_bars.index.tz_convert("UTC").as_unit("s").asi8
    polars_t = polars_bars["ts"].dt.epoch("s").to_numpy()
    assert np.array_equal(ours[0], t) and np.array_equal(ours[0], polars_t)
    for k, name in enumerate("ohlcv", start=1):
        assert np.array_equal(ours[k], pandas_bars[name].to_numpy())
        assert np.array_equal(ours[k], polars_bars[name].to_numpy())


def main() -> None:
    """Print per-interval timings and ratios, then derive-all against the single 1m."""
    columns = _quarter()
    tz = offset_table(int(columns[0][0]), int(columns[0][-1]))
    frame = _pandas_frame(columns)
    t, o, h, l, c, v = columns
    polars_frame = pl.DataFrame({"ts": t * 1_000_000, "o": o, "h": h, "l": l, "c": c, "v": v}
                                ).with_columns(
        pl.col("ts").cast(pl.Datetime("us", "UTC")).dt.convert_time_zone(NY)
    )
    resample_intraday(*columns, 60, ANCHOR, *tz)  # compile (or load the cache) before timing
    derive_standard(*columns, 1, ANCHOR, ANCHOR, *tz)
    floor, _ = _best(lambda: [a.sum() for a in columns])
    print(f"one quarter of 1-second bars: {columns[0].size:,} rows (63 sessions, 30% empty)")
    print(f"read floor (sum of the six arrays): {floor * 1000:.2f} ms")
    print(f"{'interval':<9}{'ours':>10}{'pandas':>10}{'polars':>10}"
          f"{'vs floor':>10}{'polars/ours':>13}{'pandas/ours':>13}")
    single_1m = 0.0
    for name, seconds in INTERVALS.items():
        ours_s, ours = _best(lambda s=seconds: resample_intraday(*columns, s, ANCHOR, *tz))
        pandas_s, pandas_bars = _best(lambda s=seconds: _pandas(frame, s), repeat=3)
        polars_s, polars_bars = _best(lambda s=seconds: _polars(polars_frame, s), repeat=5)
        _check(ours, pandas_bars, polars_bars)
        single_1m = ours_s if name == "1m" else single_1m
        print(f"{name:<9}{ours_s * 1000:>8.2f}ms{pandas_s * 1000:>8.2f}ms{polars_s * 1000:>8.2f}ms"
              f"{ours_s / floor:>9.2f}x{polars_s / ours_s:>12.2f}x{pandas_s / ours_s:>12.2f}x")
    all_s, derived = _best(lambda: derive_standard(*columns, 1, ANCHOR, ANCHOR, *tz))
    print(f"derive all {len(derived)} standard intervals (5s..4h, 1d): {all_s * 1000:.2f} ms = "
          f"{all_s / single_1m:.2f}x the single 1m resample")


if __name__ == "__main__":
    main()
