"""What the simulator answers to HIT, HTT and HDT: arrays from the synthetic market.

Times here are Eastern wall seconds (naive, since 1970-01-01), as on the wire. Bars of N
seconds are aligned to the wall clock from midnight, as IQFeed's are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from feeds.eastern_time import utc_to_eastern
from feeds.market_calendar import trading_days
from feeds.synthetic_market import daily_bars, second_bars

_DAY = 86400


@dataclass(frozen=True)
class Window:
    """A history request's time window and filters, in Eastern wall seconds."""

    begin: int
    end: int
    max_points: int
    begin_filter: int | None
    end_filter: int | None
    oldest_first: bool


def wall_seconds(moment: datetime) -> int:
    """Naive wall time -> seconds since 1970-01-01 00:00."""
    return int((moment - datetime(1970, 1, 1)).total_seconds())


def wall_date(seconds: int) -> date:
    """The calendar date of a wall time in seconds."""
    return date(1970, 1, 1) + timedelta(days=seconds // _DAY)


def _aggregate(wall: np.ndarray, bars: dict[str, np.ndarray], interval_s: int) -> dict:
    bucket = wall - wall % interval_s
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    return {
        "t": bucket[starts],
        "o": bars["o"][starts],
        "h": np.maximum.reduceat(bars["h"], starts),
        "l": np.minimum.reduceat(bars["l"], starts),
        "c": bars["c"][np.r_[starts[1:] - 1, wall.size - 1]],
        "v": np.add.reduceat(bars["v"], starts),
        "n": np.add.reduceat(bars["n"], starts),
    }


def _select(columns: dict[str, np.ndarray], times: np.ndarray, window: Window) -> dict:
    keep = (times >= window.begin) & (times <= window.end)
    if window.begin_filter is not None or window.end_filter is not None:
        clock = times % _DAY
        if window.begin_filter is not None:
            keep &= clock >= window.begin_filter
        if window.end_filter is not None:
            keep &= clock <= window.end_filter
    index = np.flatnonzero(keep)
    if window.max_points > 0:
        index = index[-window.max_points:]
    if not window.oldest_first:
        index = index[::-1]
    return {name: values[index] for name, values in columns.items()}


def _days(window: Window, first_allowed: date | None) -> list[date]:
    first = wall_date(window.begin)
    if first_allowed is not None:
        first = max(first, first_allowed)
    return trading_days(first, wall_date(window.end))


def interval_bars(
    symbol: str, interval_s: int, window: Window, label_at_beginning: bool,
    first_allowed: date | None = None,
) -> dict[str, np.ndarray]:
    """HIT: bars with wall ``t`` (start or end label), ``o h l c``, ``total`` (day's volume so
    far), ``v`` and ``n`` (trades), filtered by the window."""
    parts = []
    for day in _days(window, first_allowed):
        raw = second_bars(symbol, day)
        if raw["t"].size == 0:
            continue
        day_bars = _aggregate(utc_to_eastern(raw["t"]), raw, interval_s)
        day_bars["total"] = np.cumsum(day_bars["v"])
        if not label_at_beginning:
            day_bars["t"] = day_bars["t"] + interval_s
        parts.append(day_bars)
    if not parts:
        return {}
    columns = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    return _select(columns, columns["t"], window)


def ticks(symbol: str, window: Window, first_allowed: date | None = None) -> dict:
    """HTT: up to four trades per one-second bar (open, high, low, close) with sizes and quotes."""
    parts = []
    for day in _days(window, first_allowed):
        raw = second_bars(symbol, day)
        if raw["t"].size == 0:
            continue
        wall = utc_to_eastern(raw["t"])
        count = np.minimum(raw["n"], 4)
        rows = np.repeat(np.arange(wall.size), count)
        order = np.arange(rows.size) - np.repeat(np.cumsum(count) - count, count)
        path = np.stack([raw["o"], raw["h"], raw["l"], raw["c"]], axis=1)
        last_of_bar = order == count[rows] - 1
        price = np.where(last_of_bar, raw["c"][rows], path[rows, order])
        size = np.maximum(np.floor(raw["v"][rows] / count[rows]), 1.0)
        cents = np.round(price * 100)
        half_spread = np.maximum(np.round(cents * 0.0001), 1)  # in cents
        parts.append({
            "t_us": wall[rows] * 1_000_000 + order * 200_000 + rows % 997,
            "price": price, "size": size, "total": np.cumsum(size),
            "bid": (cents - half_spread) / 100, "ask": (cents + half_spread) / 100,
            "tick_id": (np.int64(day.toordinal()) * 10_000_000 + np.arange(rows.size)),
        })
    if not parts:
        return {}
    columns = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    return _select(columns, columns["t_us"] // 1_000_000, window)


def daily(symbol: str, window: Window) -> dict[str, np.ndarray]:
    """HDT: one regular-session bar per trading day, ``t`` = the day's wall midnight."""
    days = _days(window, None)
    if not days:
        return {}
    bars = daily_bars(symbol, days)
    if bars["t"].size == 0:
        return {}
    midnight = utc_to_eastern(bars["t"]) // _DAY * _DAY
    columns = {**bars, "t": midnight}
    return _select(columns, midnight, window)
