"""Indicator kernels: NumPy arrays in, NumPy arrays out (float64, NaN until a window fills).

Windows count bars. Rolling means come from one prefix sum, so any number of windows costs
O(bars) memory; rolling deviations use sums around a moving pivot; EMAs use
``alpha = 2 / (span + 1)`` seeded with the first value (pandas ``ewm(span, adjust=False)``);
RSI uses Wilder's smoothing (``alpha = 1 / window``) seeded with the simple mean of the first
``window`` changes.

Pitfalls: prefix sums lose precision on long series of large numbers (prices of 1e0..1e5 over
1e7 bars keep rolling means to about 1e-9 relative).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def prefix_sum(x):
    """``s`` with ``s[0] = 0`` and ``s[i + 1] = x[0] + ... + x[i]``."""
    s = np.empty(x.size + 1)
    s[0] = 0.0
    for i in range(x.size):
        s[i + 1] = s[i] + x[i]
    return s


@njit(cache=True)
def sma_at(prefix, i, window):
    """Mean of the ``window`` values ending at bar ``i`` from a :func:`prefix_sum`."""
    if i + 1 < window:
        return np.nan
    return (prefix[i + 1] - prefix[i + 1 - window]) / window


@njit(cache=True)
def sma(x, window):
    """Simple moving average over ``window`` bars."""
    prefix = prefix_sum(x)
    out = np.empty(x.size)
    for i in range(x.size):
        out[i] = sma_at(prefix, i, window)
    return out


@njit(cache=True)
def ema(x, span):
    """Exponential moving average, ``alpha = 2 / (span + 1)``, seeded with ``x[0]``."""
    out = np.empty(x.size)
    if x.size == 0:
        return out
    alpha = 2.0 / (span + 1.0)
    value = x[0]
    for i in range(x.size):
        value = value + alpha * (x[i] - value) if i else x[0]
        out[i] = value
    return out


@njit(cache=True)
def rolling_std(x, window):
    """Population standard deviation over ``window`` bars.

    Sums are kept relative to a pivot re-chosen (and recomputed exactly) every ``window`` bars,
    so the variance never comes from cancelling two large sums: O(n) time, error a few ulps of
    the local price spread."""
    out = np.full(x.size, np.nan)
    if x.size < window:
        return out
    pivot = s1 = s2 = 0.0
    for i in range(window - 1, x.size):
        if (i - window + 1) % window == 0:
            pivot = x[i]
            s1 = s2 = 0.0
            for j in range(i - window + 1, i + 1):
                d = x[j] - pivot
                s1 += d
                s2 += d * d
        else:
            new, old = x[i] - pivot, x[i - window] - pivot
            s1 += new - old
            s2 += new * new - old * old
        mean = s1 / window
        out[i] = np.sqrt(max(s2 / window - mean * mean, 0.0))
    return out


@njit(cache=True)
def rolling_max(x, window):
    """Highest value over the ``window`` bars ending at each bar (monotonic deque, O(n))."""
    out = np.empty(x.size)
    queue = np.empty(x.size, np.int64)
    head = tail = 0
    for i in range(x.size):
        while tail > head and x[queue[tail - 1]] <= x[i]:
            tail -= 1
        queue[tail] = i
        tail += 1
        if queue[head] <= i - window:
            head += 1
        out[i] = x[queue[head]] if i + 1 >= window else np.nan
    return out


@njit(cache=True)
def rolling_min(x, window):
    """Lowest value over the ``window`` bars ending at each bar."""
    return -rolling_max(-x, window)


@njit(cache=True)
def rsi(x, window):
    """Wilder's relative strength index (0..100) over ``window`` bars."""
    out = np.full(x.size, np.nan)
    if x.size <= window:
        return out
    gain = loss = 0.0
    for i in range(1, window + 1):
        change = x[i] - x[i - 1]
        gain += max(change, 0.0)
        loss += max(-change, 0.0)
    gain /= window
    loss /= window
    for i in range(window, x.size):
        if i > window:
            change = x[i] - x[i - 1]
            gain = (gain * (window - 1) + max(change, 0.0)) / window
            loss = (loss * (window - 1) + max(-change, 0.0)) / window
        out[i] = 100.0 if loss == 0.0 else 100.0 - 100.0 / (1.0 + gain / loss)
    return out


@njit(cache=True)
def crossings(fast, slow):
    """``(up, down)``: bars where ``fast`` crosses above / below ``slow`` (NaN never crosses)."""
    up = np.zeros(fast.size, np.bool_)
    down = np.zeros(fast.size, np.bool_)
    for i in range(1, fast.size):
        before = fast[i - 1] - slow[i - 1]
        now = fast[i] - slow[i]
        if before <= 0.0 < now:
            up[i] = True
        elif before >= 0.0 > now:
            down[i] = True
    return up, down
