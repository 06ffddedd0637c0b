"""Synthetic market: determinism, sessions (incl. early closes), OHLC, volume shape and spread."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from feeds.market_calendar import early_closes, session_bounds_utc, trading_days
from feeds.synthetic_market import (
    KNOWN_SYMBOLS,
    daily_bars,
    is_known_symbol,
    second_bars,
)

DAY = date(2024, 3, 12)
KEYS = ("t", "o", "h", "l", "c", "v", "n")


def _regular_mask(t: np.ndarray, day: date) -> np.ndarray:
    open_, close = session_bounds_utc(day)
    return (t >= open_) & (t < close)


def test_known_symbols() -> None:
    assert {"SPY", "AAPL", "MSFT", "QQQ", "TSLA", "NVDA"} <= KNOWN_SYMBOLS
    assert is_known_symbol("SPY")
    assert not is_known_symbol("NOPE")
    with pytest.raises(KeyError):
        second_bars("NOPE", DAY)
    with pytest.raises(KeyError):
        daily_bars("NOPE", [DAY])


def test_deterministic_and_distinct() -> None:
    first, second = second_bars("AAPL", DAY), second_bars("AAPL", DAY)
    assert tuple(first) == KEYS
    for key in KEYS:
        np.testing.assert_array_equal(first[key], second[key])
    other_day = second_bars("AAPL", date(2024, 3, 13))
    other_symbol = second_bars("MSFT", DAY)
    assert not np.array_equal(first["c"][:1000], other_day["c"][:1000])
    assert not np.array_equal(first["c"][:1000], other_symbol["c"][:1000])


@pytest.mark.parametrize("day", [date(2024, 3, 9), date(2024, 3, 10), date(2024, 12, 25)])
def test_no_bars_on_closed_days(day: date) -> None:
    bars = second_bars("SPY", day)
    assert tuple(bars) == KEYS
    assert all(arr.size == 0 for arr in bars.values())
    assert bars["t"].dtype == np.int64 and bars["n"].dtype == np.int64
    assert bars["c"].dtype == np.float64
    assert daily_bars("SPY", [day])["t"].size == 0


@pytest.mark.parametrize("symbol", ["SPY", "KO", "ZVZZT"])
def test_bar_structure_and_ohlc(symbol: str) -> None:
    bars = second_bars(symbol, DAY)
    t = bars["t"]
    start, end = session_bounds_utc(DAY, extended=True)
    assert t.dtype == np.int64 and t.size > 0
    assert t[0] >= start and t[-1] < end
    assert np.all(np.diff(t) > 0)
    assert all(bars[k].dtype == np.float64 for k in "ohlcv")
    assert bars["n"].dtype == np.int64 and bars["n"].min() >= 1
    assert bars["v"].min() >= 1 and np.all(bars["v"] == np.round(bars["v"]))
    o, h, lo, c = bars["o"], bars["h"], bars["l"], bars["c"]
    assert lo.min() > 0
    assert np.all(lo <= np.minimum(o, c)) and np.all(np.maximum(o, c) <= h)
    for price in (o, h, lo, c):
        np.testing.assert_allclose(price, np.round(price, 2), atol=1e-9)
    # Each bar opens near the previous close.
    assert np.median(np.abs(o[1:] / c[:-1] - 1.0)) < 1e-3
    assert np.max(np.abs(o[1:] / c[:-1] - 1.0)) < 0.05


def test_fill_rates_and_gaps() -> None:
    t = second_bars("SPY", DAY)["t"]
    regular = _regular_mask(t, DAY)
    regular_fill = regular.sum() / 23_400
    extended_fill = (~regular).sum() / (57_600 - 23_400)
    assert 0.95 <= regular_fill <= 1.0
    assert extended_fill < 0.6 * regular_fill
    assert regular_fill < 1.0  # some regular seconds have no trade
    thin_t = second_bars("ZVZZT", DAY)["t"]
    assert _regular_mask(thin_t, DAY).sum() < 0.2 * 23_400


def test_volume_is_u_shaped() -> None:
    vol_by_minute = np.zeros(390)
    for day in (date(2024, 3, 12), date(2024, 3, 13), date(2024, 3, 14)):
        bars = second_bars("SPY", day)
        regular = _regular_mask(bars["t"], day)
        minute = (bars["t"][regular] - session_bounds_utc(day)[0]) // 60
        vol_by_minute += np.bincount(minute, weights=bars["v"][regular], minlength=390)
    edges = np.concatenate([vol_by_minute[:30], vol_by_minute[-30:]]).mean()
    middle = vol_by_minute[90:300].mean()  # 11:00-14:30
    assert edges > 1.5 * middle


def _assert_day_bar_aggregates(symbol: str, day: date, daily: dict, i: int) -> None:
    """Row ``i`` of ``daily`` is ``day``'s regular-session second bars aggregated."""
    bars = second_bars(symbol, day)
    reg = _regular_mask(bars["t"], day)
    assert daily["o"][i] == bars["o"][reg][0]
    assert daily["h"][i] == bars["h"][reg].max()
    assert daily["l"][i] == bars["l"][reg].min()
    assert daily["c"][i] == bars["c"][reg][-1]
    assert daily["v"][i] == bars["v"][reg].sum()


def test_daily_bars_aggregate_regular_session() -> None:
    days = [date(2024, 3, 8), date(2024, 3, 9), date(2024, 3, 11), date(2024, 3, 12)]
    daily = daily_bars("AAPL", days)
    trading = [date(2024, 3, 8), date(2024, 3, 11), date(2024, 3, 12)]
    assert daily["t"].dtype == np.int64
    assert daily["t"].tolist() == [session_bounds_utc(d)[0] for d in trading]
    for i, day in enumerate(trading):
        _assert_day_bar_aggregates("AAPL", day, daily, i)
    again = daily_bars("AAPL", days)
    for key in "tohlcv":
        np.testing.assert_array_equal(daily[key], again[key])


def test_days_are_continuous() -> None:
    days = [date(2024, 3, d) for d in (11, 12, 13, 14, 15)]
    daily = daily_bars("SPY", days)
    overnight = daily["o"][1:] / daily["c"][:-1] - 1.0
    assert np.all(np.abs(overnight) < 0.03)


EARLY = date(2026, 11, 27)  # day after Thanksgiving: 09:30-13:00, after-hours to 17:00 ET


@pytest.mark.parametrize("symbol", ["SPY", "AAPL"])
def test_early_close_day_sessions(symbol: str) -> None:
    t = second_bars(symbol, EARLY)["t"]
    open_, close = session_bounds_utc(EARLY)
    start, end = session_bounds_utc(EARLY, extended=True)
    assert close - open_ == 3 * 3600 + 1800 and end - start == 13 * 3600
    assert t.size > 0 and t[0] >= start
    assert t[-1] < end  # nothing after 17:00 ET
    regular = (t >= open_) & (t < close)
    assert regular.sum() > 0.95 * (close - open_)
    after_hours = t >= close
    assert 0 < after_hours.sum() < 0.6 * (end - close)  # after-hours trades, thinner


def test_early_close_day_volume_is_u_shaped_over_the_short_session() -> None:
    bars = second_bars("SPY", EARLY)
    open_ = session_bounds_utc(EARLY)[0]
    regular = _regular_mask(bars["t"], EARLY)
    minute = (bars["t"][regular] - open_) // 60
    by_minute = np.bincount(minute, weights=bars["v"][regular], minlength=210)
    assert by_minute.size == 210  # 09:30-13:00
    edges = np.concatenate([by_minute[:30], by_minute[-30:]]).mean()
    assert edges > 1.5 * by_minute[60:150].mean()  # 10:30-12:00


def test_daily_bars_aggregate_regular_session_on_early_close_days() -> None:
    days = [date(2026, 11, 25), EARLY, date(2026, 12, 24), date(2025, 7, 3)]
    daily = daily_bars("MSFT", days)
    assert daily["t"].tolist() == [session_bounds_utc(d)[0] for d in days]
    for i, day in enumerate(days):
        _assert_day_bar_aggregates("MSFT", day, daily, i)


def test_early_close_days_trade_less_than_the_days_before() -> None:
    early = sorted(d for y in range(2014, 2026) for d in early_closes(y))
    before = [trading_days(d - timedelta(days=7), d - timedelta(days=1))[-1] for d in early]
    short, full = daily_bars("SPY", early)["v"], daily_bars("SPY", before)["v"]
    assert short.size == full.size == len(early) > 25
    assert np.median(short / full) < 0.8


@pytest.mark.parametrize("symbol", ["NVDA", "SPY", "KO", "ZVZZT"])
def test_daily_volume_varies_from_day_to_day(symbol: str) -> None:
    days = trading_days(date(2024, 1, 2), date(2024, 3, 28))[:60]
    v = daily_bars(symbol, days)["v"]
    assert v.size == 60
    cv = v.std() / v.mean()
    assert 0.2 <= cv <= 1.0
    assert np.unique(v).size == v.size


def test_daily_volume_is_autocorrelated_and_larger_on_big_moves() -> None:
    days = trading_days(date(2024, 1, 2), date(2024, 12, 31))
    daily = daily_bars("SPY", days)
    log_v = np.log(daily["v"])
    assert np.corrcoef(log_v[1:], log_v[:-1])[0, 1] > 0.3
    move = np.abs(np.log(daily["c"] / daily["o"]))
    big = move > np.quantile(move, 0.9)
    small = move < np.quantile(move, 0.5)
    assert np.median(daily["v"][big]) > 1.2 * np.median(daily["v"][small])
