"""What the simulator answers to the history requests: arrays from the synthetic market.

Times here are Eastern wall seconds (naive, since 1970-01-01), as on the wire. Bars of N
seconds are aligned to the wall clock from midnight, as IQFeed's are. Every builder takes
``now_utc`` (the simulator's clock) and uses only the one-second bars that ended by then, so no
answer holds data from after now: today's interval bar, tick list, daily, weekly and monthly bar
are what the session traded so far. Daily bars cover the regular session
(:func:`feeds.market_calendar.session_bounds_utc`, early closes included); weekly and monthly
bars aggregate the daily bars of their week or month and are dated by its last day so far.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from feeds.eastern_time import utc_to_eastern
from feeds.market_calendar import session_bounds_utc, trading_days
from feeds.synthetic_market import daily_bars, second_bars

_DAY = 86400
_THURSDAY = 3  # 1970-01-01, wall day 0

FIRST_DAY = date(1995, 1, 1)
"""The oldest day the simulator looks at (the synthetic market starts in 1995)."""

Columns = dict[str, np.ndarray]
DayBuilder = Callable[[date], Columns]


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


def _seconds_so_far(symbol: str, day: date, now_utc: float) -> Columns:
    """``day``'s one-second bars that ended by ``now_utc``."""
    if session_bounds_utc(day, extended=True)[0] >= now_utc:
        return {"t": np.empty(0, np.int64)}
    raw = second_bars(symbol, day)
    done = int(np.searchsorted(raw["t"], int(now_utc) - 1, side="right"))
    return raw if done == raw["t"].size else {name: values[:done] for name, values in raw.items()}


def _aggregate(keys: np.ndarray, bars: Columns, label: np.ndarray) -> Columns:
    """One row per run of equal ``keys``: o first, h max, l min, c last, v and n summed."""
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    lasts = np.r_[starts[1:] - 1, keys.size - 1]
    out = {
        "t": label[lasts], "o": bars["o"][starts],
        "h": np.maximum.reduceat(bars["h"], starts), "l": np.minimum.reduceat(bars["l"], starts),
        "c": bars["c"][lasts], "v": np.add.reduceat(bars["v"], starts),
    }
    if "n" in bars:
        out["n"] = np.add.reduceat(bars["n"], starts)
    return out


def _window_keep(times: np.ndarray, window: Window) -> np.ndarray:
    """Which of ``times`` fall inside the window and its time-of-day filters."""
    keep = (times >= window.begin) & (times <= window.end)
    clock = times % _DAY
    if window.begin_filter is not None:
        keep &= clock >= window.begin_filter
    if window.end_filter is not None:
        keep &= clock <= window.end_filter
    return keep


def _take(columns: Columns, index: np.ndarray) -> Columns:
    return {name: values[index] for name, values in columns.items()}


def _concat(parts: list[Columns]) -> Columns:
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def _gather(days: list[date], build: DayBuilder, time_key: str, window: Window) -> Columns:
    """Each day's rows inside the window (``time_key``: ``t`` in seconds or ``t_us``), oldest
    first; with ``max_points`` it walks back from the newest day only as far as needed."""
    parts: list[Columns] = []
    rows = 0
    order: Iterable[date] = reversed(days) if window.max_points > 0 else days
    for day in order:
        part = build(day)
        wall = part[time_key] // 1_000_000 if time_key == "t_us" else part[time_key]
        part = _take(part, np.flatnonzero(_window_keep(wall, window)))
        if part[time_key].size == 0:
            continue
        parts.append(part)
        rows += part[time_key].size
        if 0 < window.max_points <= rows:
            break
    if window.max_points > 0:
        parts.reverse()
    return _concat(parts) if parts else {}


def finish(columns: Columns, window: Window) -> Columns:
    """The newest ``max_points`` rows, in the asked direction (IQFeed's default: newest first)."""
    if not columns:
        return {}
    index = np.arange(next(iter(columns.values())).size)
    if window.max_points > 0:
        index = index[-window.max_points:]
    if not window.oldest_first:
        index = index[::-1]
    return _take(columns, index)


def eastern_date(now_utc: float) -> date:
    """The Eastern calendar date at UTC epoch second ``now_utc``."""
    return wall_date(int(utc_to_eastern(np.array([int(now_utc)]))[0]))


def _days(window: Window, first_allowed: date | None, now_utc: float) -> list[date]:
    """Trading days of the window up to today; none before ``first_allowed`` or 1995."""
    first = max(wall_date(max(window.begin, 0)), first_allowed or FIRST_DAY, FIRST_DAY)
    return trading_days(first, min(wall_date(window.end), eastern_date(now_utc)))


def _day_interval_bars(
    symbol: str, day: date, interval_s: int, label_at_beginning: bool, now_utc: float
) -> Columns:
    raw = _seconds_so_far(symbol, day, now_utc)
    if raw["t"].size == 0:
        return {}
    wall = utc_to_eastern(raw["t"])
    bucket = wall - wall % interval_s
    bars = _aggregate(bucket, raw, bucket + (0 if label_at_beginning else interval_s))
    bars["total"] = np.cumsum(bars["v"])
    return bars


def interval_bars(
    symbol: str, interval_s: int, window: Window, label_at_beginning: bool, now_utc: float,
    first_allowed: date | None = None,
) -> Columns:
    """HIT, HID, HIX: bars with wall ``t`` (start or end label), ``o h l c``, ``total`` (day's
    volume so far), ``v`` and ``n`` (trades), filtered by the window."""

    def build(day: date) -> Columns:
        return _day_interval_bars(symbol, day, interval_s, label_at_beginning, now_utc) or {
            "t": np.empty(0, np.int64)}

    return finish(_gather(_days(window, first_allowed, now_utc), build, "t", window), window)


def _day_ticks(symbol: str, day: date, now_utc: float) -> Columns:
    """Up to four trades per one-second bar (open, high, low, close) with sizes and quotes."""
    raw = _seconds_so_far(symbol, day, now_utc)
    if raw["t"].size == 0:
        return {"t_us": np.empty(0, np.int64)}
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
    move = np.sign(np.diff(price, prepend=price[0]))
    return {
        "t_us": wall[rows] * 1_000_000 + order * 200_000 + rows % 997,
        "price": price, "size": size, "total": np.cumsum(size),
        "bid": (cents - half_spread) / 100, "ask": (cents + half_spread) / 100,
        "tick_id": (np.int64(day.toordinal()) * 10_000_000 + np.arange(rows.size)),
        "aggressor": np.select([move > 0, move < 0], [1, 2], 3).astype(np.int64),
        "day_code": np.full(rows.size, day.day, dtype=np.int64),
    }


def ticks(
    symbol: str, window: Window, now_utc: float, first_allowed: date | None = None
) -> Columns:
    """HTT, HTD, HTX: trades with sizes, quotes, tick ids, trade aggressor (tick rule: 1 up,
    2 down, 3 unchanged) and day code (day of the month)."""

    def build(day: date) -> Columns:
        return _day_ticks(symbol, day, now_utc)

    return finish(_gather(_days(window, first_allowed, now_utc), build, "t_us", window), window)


def _empty_day() -> Columns:
    return {"t": np.empty(0, np.int64), **{k: np.empty(0) for k in "ohlcv"}}


def regular_bar(symbol: str, day: date, now_utc: float) -> Columns:
    """``day``'s regular-session bar (one row, ``t`` = wall midnight) from its one-second bars
    that ended by ``now_utc``; no row before the first trade of the session."""
    open_, close = session_bounds_utc(day)
    if now_utc >= close:
        bar = daily_bars(symbol, [day])
    else:
        raw = _seconds_so_far(symbol, day, now_utc)
        lo, hi = np.searchsorted(raw["t"], [open_, close])
        if hi <= lo:
            return _empty_day()
        part = {k: raw[k][lo:hi] for k in "tohlcv"}
        bar = _aggregate(np.zeros(hi - lo, np.int64), part, np.full(hi - lo, open_))
    if bar["t"].size == 0:
        return _empty_day()
    return {**{k: bar[k] for k in "ohlcv"}, "t": utc_to_eastern(bar["t"]) // _DAY * _DAY}


def daily(symbol: str, window: Window, now_utc: float) -> Columns:
    """HDT, HDX: one regular-session bar per trading day, ``t`` = the day's wall midnight."""

    def build(day: date) -> Columns:
        return regular_bar(symbol, day, now_utc)

    return finish(_gather(_days(window, None, now_utc), build, "t", window), window)


def _periods(symbol: str, first: date, last: date, now_utc: float, key: Callable) -> Columns:
    """Daily bars of ``first``..``last`` aggregated per ``key`` (wall day number -> period),
    each dated by its last day."""
    window = Window(wall_seconds(datetime.combine(first, datetime.min.time())),
                    wall_seconds(datetime.combine(last, datetime.min.time())), 0, None, None, True)
    days = daily(symbol, window, now_utc)
    if not days:
        return {}
    return _aggregate(key(days["t"] // _DAY), days, days["t"])


def weekly(symbol: str, weeks: int, now_utc: float, oldest_first: bool) -> Columns:
    """HWX: the last ``weeks`` weeks (Monday to Friday, this one so far), newest first unless
    ``oldest_first``."""
    today = eastern_date(now_utc)
    monday = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    bars = _periods(symbol, max(monday, FIRST_DAY), today, now_utc,
                    lambda day: (day + _THURSDAY) // 7)
    return finish(bars, Window(0, 0, weeks, None, None, oldest_first))


def monthly(symbol: str, months: int, now_utc: float, oldest_first: bool) -> Columns:
    """HMX: the last ``months`` calendar months (this one so far), newest first unless
    ``oldest_first``."""
    today = eastern_date(now_utc)
    index = today.year * 12 + today.month - 1 - (months - 1)
    first = date(index // 12, index % 12 + 1, 1) if index >= FIRST_DAY.year * 12 else FIRST_DAY
    bars = _periods(symbol, max(first, FIRST_DAY), today, now_utc,
                    lambda day: day.astype("datetime64[D]").astype("datetime64[M]").astype(
                        np.int64))
    return finish(bars, Window(0, 0, months, None, None, oldest_first))

