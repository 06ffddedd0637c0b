"""Deterministic synthetic US equity market: 1-second OHLCV bars for the IQFeed simulator.

Every (symbol, day) is generated from its own seed (a SHA-256 of the symbol and the date), so the
same request gives identical bars in any process and in any order. Only NumPy is used and a
symbol-day is built in a few vectorised passes (a few milliseconds).

Model, per symbol: a base price, an annualised volatility and a liquidity profile.

* Daily: the regular-session opening price follows a random walk in log price over the trading
  days, seeded per symbol and anchored at ``_ANCHOR`` (2015-01-02) at the base price, walking
  forwards and backwards from there. A weak pull towards the base price keeps decades of history
  in a plausible range. Days outside ``_WALK_FIRST``..``_WALK_LAST`` have no bars.
* Daily volume: each symbol-day has a volume multiplier (mean about 1), log-normal and
  autocorrelated over the days (an AR(1) walk like the price's) and larger on days whose
  open-to-next-open move is large, so daily volume varies from day to day by some 30-50%.
* Intraday: a latent log price moves every second, with U-shaped volatility over the regular
  session and little movement outside it. The regular session and after-hours form a Brownian
  bridge from today's open to the next trading day's open; the pre-market leads up to today's
  open. A second produces a bar only when it has at least one trade: nearly every regular second
  for liquid symbols, far fewer in extended hours, and few anywhere for thinly traded symbols.
  Trade counts and volume are U-shaped over the regular session too.
* Sessions follow ``feeds.market_calendar``: on early-close days the regular session is
  09:30-13:00 ET and after-hours 13:00-17:00 ET (no bars after 17:00); the U-shapes span the
  shortened session, at the same per-second intensity as a full day.

Left out: auctions, halts, corporate actions and cross-symbol correlation.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from datetime import date
from functools import cache, lru_cache
from typing import NamedTuple

import numpy as np

from feeds.market_calendar import (
    is_trading_day,
    session_bounds_utc,
    trading_days,
)

_VOLUME_PHI = 0.8  # day-to-day persistence of the log volume multiplier
_VOLUME_SIGMA = 0.3  # stationary standard deviation of its autocorrelated part
_VOLUME_MOVE = 0.35  # extra log volume per unit of |standardised daily move| above its mean


class _Profile(NamedTuple):
    price: float  # base price at the anchor date
    vol: float  # annualised volatility of the regular session
    p_regular: float  # probability that a regular-session second has a trade (on average)
    p_extended: float  # same, pre-market and after-hours
    trades: float  # extra trades per traded regular second (Poisson mean, on average)
    lot: float  # mean shares per trade


_PROFILES: dict[str, _Profile] = {
    "SPY": _Profile(205.0, 0.16, 0.995, 0.40, 12.0, 180.0),
    "QQQ": _Profile(102.0, 0.22, 0.993, 0.35, 9.0, 160.0),
    "IWM": _Profile(118.0, 0.22, 0.985, 0.20, 5.0, 150.0),
    "DIA": _Profile(178.0, 0.16, 0.97, 0.10, 1.5, 80.0),
    "AAPL": _Profile(109.0, 0.28, 0.993, 0.35, 10.0, 110.0),
    "MSFT": _Profile(46.0, 0.26, 0.99, 0.25, 7.0, 100.0),
    "AMZN": _Profile(308.0, 0.33, 0.99, 0.25, 6.0, 90.0),
    "GOOG": _Profile(524.0, 0.28, 0.985, 0.20, 4.0, 70.0),
    "META": _Profile(78.0, 0.36, 0.99, 0.25, 6.0, 90.0),
    "NVDA": _Profile(20.0, 0.50, 0.993, 0.35, 10.0, 150.0),
    "TSLA": _Profile(219.0, 0.58, 0.993, 0.40, 10.0, 120.0),
    "AMD": _Profile(27.0, 0.55, 0.99, 0.25, 7.0, 160.0),
    "NFLX": _Profile(349.0, 0.42, 0.98, 0.15, 3.0, 70.0),
    "JPM": _Profile(62.0, 0.24, 0.985, 0.12, 4.0, 100.0),
    "XOM": _Profile(92.0, 0.25, 0.985, 0.12, 4.0, 110.0),
    "INTC": _Profile(36.0, 0.32, 0.985, 0.15, 4.0, 200.0),
    "BAC": _Profile(18.0, 0.28, 0.985, 0.15, 5.0, 300.0),
    "KO": _Profile(42.0, 0.16, 0.975, 0.08, 2.5, 150.0),
    "DIS": _Profile(94.0, 0.27, 0.98, 0.10, 3.0, 100.0),
    "BA": _Profile(130.0, 0.38, 0.98, 0.12, 3.0, 80.0),
    # Thinly traded test tickers.
    "ZVZZT": _Profile(25.0, 0.45, 0.03, 0.002, 0.1, 200.0),
    "ZXZZT": _Profile(12.0, 0.55, 0.02, 0.001, 0.1, 300.0),
    "ZWZZT": _Profile(40.0, 0.40, 0.05, 0.003, 0.2, 150.0),
}

KNOWN_SYMBOLS: frozenset[str] = frozenset(_PROFILES)

_ANCHOR = date(2015, 1, 2)
_WALK_FIRST = date(1995, 1, 3)
_WALK_LAST = date(2045, 12, 29)
_WALK_REVERSION = 1.0 / 750.0  # daily pull of the log price towards log(base price)
_TRADING_DAYS_PER_YEAR = 252

_EXT_SECONDS = 16 * 3600  # 04:00-20:00 ET, the longest day; the arrays cover it every day
_REG_START = 5 * 3600 + 1800  # 09:30 ET, seconds after 04:00
_REG_SECONDS = 6 * 3600 + 1800  # 09:30-16:00 ET, a full regular session
_EXT_VARIANCE = 0.05  # per-second variance weight outside regular hours (regular mean is 1)


def is_known_symbol(symbol: str) -> bool:
    """True when the synthetic market lists ``symbol``."""
    return symbol in _PROFILES


def _profile(symbol: str) -> _Profile:
    try:
        return _PROFILES[symbol]
    except KeyError:
        raise KeyError(f"unknown symbol {symbol!r}") from None


def _rng(*parts: str) -> np.random.Generator:
    """A generator seeded from a stable hash of ``parts`` (same in every process)."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


@lru_cache(maxsize=1)
def _walk_days() -> tuple[date, ...]:
    return tuple(trading_days(_WALK_FIRST, _WALK_LAST))


def _ar1(shocks: np.ndarray, phi: float) -> np.ndarray:
    """x[0] = 0, x[i] = phi * x[i-1] + shocks[i-1]; once per symbol, so a plain loop is fine."""
    out = np.empty(shocks.size + 1)
    x = 0.0
    out[0] = 0.0
    for i, shock in enumerate(shocks.tolist(), start=1):
        x = phi * x + shock
        out[i] = x
    return out


@cache
def _log_opens(symbol: str) -> np.ndarray:
    """Log regular-session opening price of ``symbol`` for every day of ``_walk_days()``."""
    prof = _profile(symbol)
    days = _walk_days()
    anchor = bisect_left(days, _ANCHOR)
    sigma = prof.vol / np.sqrt(_TRADING_DAYS_PER_YEAR)
    phi = 1.0 - _WALK_REVERSION
    rng = _rng("daily", symbol)
    forward = _ar1(rng.normal(0.0, sigma, len(days) - 1 - anchor), phi)
    backward = _ar1(rng.normal(0.0, sigma, anchor), phi)
    log_opens = np.log(prof.price) + np.concatenate([backward[:0:-1], forward])
    log_opens.setflags(write=False)
    return log_opens


@cache
def _volume_multipliers(symbol: str) -> np.ndarray:
    """Daily volume multiplier of ``symbol`` for every day of ``_walk_days()`` (mean about 1).

    exp of an AR(1) walk anchored like the prices plus a term that grows with the size of the
    day's open-to-next-open move, centred so that the multiplier averages about 1.
    """
    prof = _profile(symbol)
    days = _walk_days()
    anchor = bisect_left(days, _ANCHOR)
    rng = _rng("volume", symbol)
    shock = _VOLUME_SIGMA * np.sqrt(1.0 - _VOLUME_PHI**2)
    forward = _ar1(rng.normal(0.0, shock, len(days) - 1 - anchor), _VOLUME_PHI)
    backward = _ar1(rng.normal(0.0, shock, anchor), _VOLUME_PHI)
    walk = np.concatenate([backward[:0:-1], forward])
    sigma = prof.vol / np.sqrt(_TRADING_DAYS_PER_YEAR)
    move = np.abs(np.diff(_log_opens(symbol), append=_log_opens(symbol)[-1])) / sigma
    log_mult = walk + _VOLUME_MOVE * (move - np.sqrt(2.0 / np.pi))
    mult = np.exp(log_mult - 0.5 * (_VOLUME_SIGMA**2 + _VOLUME_MOVE**2 * (1.0 - 2.0 / np.pi)))
    mult.setflags(write=False)
    return mult


def _empty_bars() -> dict[str, np.ndarray]:
    bars = {k: np.empty(0, dtype=np.float64) for k in "ohlcv"}
    bars["t"] = np.empty(0, dtype=np.int64)
    bars["n"] = np.empty(0, dtype=np.int64)
    return {k: bars[k] for k in ("t", "o", "h", "l", "c", "v", "n")}


class _Layout(NamedTuple):
    reg_end: int  # end of the regular session, seconds after 04:00 ET
    ext_end: int  # end of after-hours, seconds after 04:00 ET


def _layout(day: date) -> _Layout:
    """Where ``day``'s regular session and after-hours end (shorter on early-close days)."""
    start, ext_end = session_bounds_utc(day, extended=True)
    return _Layout(session_bounds_utc(day)[1] - start, ext_end - start)


@lru_cache(maxsize=4)
def _intraday_shape(layout: _Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per second of 04:00-20:00 ET: regular mask, regular U-shape, extended-hours ramp.

    The U-shape has mean 1 over the regular session; the ramp has mean about 1 over extended
    hours, rises towards the regular session and is 0 after ``layout.ext_end``.
    """
    s = np.arange(_EXT_SECONDS, dtype=np.float64)
    regular = (s >= _REG_START) & (s < layout.reg_end)
    extended = ~regular & (s < layout.ext_end)
    x = np.clip((s - _REG_START + 0.5) / (layout.reg_end - _REG_START), 0.0, 1.0)
    u = 0.6 + 2.5 * np.exp(-x / 0.04) + 1.5 * np.exp(-(1.0 - x) / 0.03)
    u = np.where(regular, u / u[regular].mean(), 0.0)
    pre = np.exp(-(_REG_START - s) / 3600.0)
    post = np.exp(-(s - layout.reg_end) / 3600.0)
    ramp = np.where(s < _REG_START, 0.3 + 1.7 * pre, 0.3 + 1.7 * post)
    ramp = np.where(extended, ramp, 0.0)
    ramp /= ramp[extended].mean()
    for arr in (regular, u, ramp):
        arr.setflags(write=False)
    return regular, u, ramp


class _Shape(NamedTuple):
    std: np.ndarray  # per-second standard deviation of the latent log price
    cum_var: np.ndarray  # cumulative variance from 09:30 to the end of each second until 20:00
    p_trade: np.ndarray  # probability that a second has a trade
    activity: np.ndarray  # relative trade intensity of a traded second


@cache
def _symbol_shape(symbol: str, layout: _Layout) -> _Shape:
    """Per-second arrays of ``symbol`` for days of ``layout`` (computed once per layout).

    Per-second variance and trading intensity are those of a full day, so a shortened session
    carries proportionally less variance and volume.
    """
    prof = _profile(symbol)
    regular, u, ramp = _intraday_shape(layout)
    daily_var = prof.vol**2 / _TRADING_DAYS_PER_YEAR
    open_hours = np.arange(_EXT_SECONDS) < layout.ext_end
    var = np.where(regular, u, _EXT_VARIANCE * open_hours) * (daily_var / _REG_SECONDS)
    p_reg = 1.0 - (1.0 - prof.p_regular) ** u
    p_trade = np.where(regular, p_reg, np.minimum(prof.p_extended * ramp, 1.0))
    activity = np.where(regular, u, 0.1 * ramp)
    shape = _Shape(np.sqrt(var), np.cumsum(var[_REG_START:]), p_trade, activity)
    for arr in shape:
        arr.setflags(write=False)
    return shape


def _latent_path(
    rng: np.random.Generator, shape: _Shape, log_open: float, log_next: float
) -> np.ndarray:
    """Log price at each second boundary of 04:00-20:00 ET (``_EXT_SECONDS + 1`` values).

    Pre-market walks into ``log_open`` at 09:30; 09:30-20:00 is a Brownian bridge from
    ``log_open`` to ``log_next`` (the next trading day's open), flat once after-hours end.
    """
    steps = rng.standard_normal(_EXT_SECONDS) * shape.std
    path = np.empty(_EXT_SECONDS + 1)
    path[:_REG_START] = log_open - np.cumsum(steps[_REG_START - 1 :: -1])[::-1]
    path[_REG_START] = log_open
    walk = np.cumsum(steps[_REG_START:])
    pull = (walk[-1] - (log_next - log_open)) / shape.cum_var[-1]
    path[_REG_START + 1 :] = log_open + walk - shape.cum_var * pull
    return path


def second_bars(symbol: str, day: date) -> dict[str, np.ndarray]:
    """1-second OHLCV bars of ``symbol`` over ``day``'s extended session (04:00-20:00 ET,
    04:00-17:00 on early-close days).

    Keys ``t`` (int64 UTC epoch second of the bar start), ``o h l c`` (float64 dollars, whole
    cents), ``v`` (float64 shares), ``n`` (int64 trades). Seconds without a trade have no bar; a
    non-trading day gives empty arrays. Raises ``KeyError`` for an unknown symbol.
    """
    prof = _profile(symbol)
    days = _walk_days()
    idx = bisect_left(days, day)
    if not is_trading_day(day) or idx + 1 >= len(days) or days[idx] != day:
        return _empty_bars()
    shape = _symbol_shape(symbol, _layout(day))
    log_opens = _log_opens(symbol)
    mult = _volume_multipliers(symbol)[idx]
    rng = _rng("seconds", symbol, day.isoformat())
    path = _latent_path(rng, shape, log_opens[idx], log_opens[idx + 1])

    # Which seconds trade, and how much. The day's multiplier scales the extra trades; the
    # trade size is rescaled so that expected volume scales with it exactly, also for symbols
    # whose traded seconds mostly hold a single trade.
    sec = np.flatnonzero(rng.random(_EXT_SECONDS) < shape.p_trade)
    rate = prof.trades * shape.activity[sec]
    n = 1 + rng.poisson(rate * mult)
    size = rng.lognormal(-0.18, 0.6, sec.size)  # mean about 1
    v = np.maximum(1.0, np.round(n * prof.lot * size * mult * (1.0 + rate) / (1.0 + rate * mult)))

    # Prices: open at the latent price entering the second, close at the one leaving it.
    c = np.maximum(0.01, np.round(np.exp(path[sec + 1]), 2))
    o = np.where(n > 1, np.maximum(0.01, np.round(np.exp(path[sec]), 2)), c)
    excursion = 0.5 * shape.std[sec] * np.sqrt(np.log1p(n - 1)) * c  # 0 for single-trade seconds
    up = np.round(np.abs(rng.standard_normal(sec.size)) * excursion, 2)
    down = np.round(np.abs(rng.standard_normal(sec.size)) * excursion, 2)
    h = np.round(np.maximum(o, c) + up, 2)
    low = np.maximum(0.01, np.round(np.minimum(o, c) - down, 2))

    start, _ = session_bounds_utc(day, extended=True)
    return {
        "t": (start + sec).astype(np.int64),
        "o": o,
        "h": h,
        "l": low,
        "c": c,
        "v": v,
        "n": n.astype(np.int64),
    }


@lru_cache(maxsize=65536)
def _daily_aggregate(symbol: str, day: date) -> tuple[int, float, float, float, float, float]:
    """(t, o, h, l, c, v) of ``day``'s regular session; ``t`` is -1 when it had no trades."""
    bars = second_bars(symbol, day)
    open_, close = session_bounds_utc(day)
    t = bars["t"]
    lo, hi = np.searchsorted(t, open_), np.searchsorted(t, close)
    if hi <= lo:
        return (-1, 0.0, 0.0, 0.0, 0.0, 0.0)
    return (
        open_,
        float(bars["o"][lo]),
        float(bars["h"][lo:hi].max()),
        float(bars["l"][lo:hi].min()),
        float(bars["c"][hi - 1]),
        float(bars["v"][lo:hi].sum()),
    )


def daily_bars(symbol: str, days: list[date]) -> dict[str, np.ndarray]:
    """Daily OHLCV of ``symbol``'s regular session for each trading day in ``days``.

    Keys ``t`` (int64 UTC epoch second of the 09:30 ET open), ``o h l c v`` (float64), each day
    aggregated from ``second_bars``; non-trading days are skipped. Raises ``KeyError`` for an
    unknown symbol.
    """
    _profile(symbol)
    rows = [_daily_aggregate(symbol, d) for d in days if is_trading_day(d)]
    rows = [r for r in rows if r[0] >= 0]
    cols = list(zip(*rows, strict=True)) if rows else [()] * 6
    out = {"t": np.asarray(cols[0], dtype=np.int64)}
    for key, col in zip("ohlcv", cols[1:], strict=True):
        out[key] = np.asarray(col, dtype=np.float64)
    return out
