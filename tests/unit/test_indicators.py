"""Indicator kernels against pandas (and a plain loop for Wilder's RSI)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kernels.indicators import (
    crossings,
    ema,
    rolling_max,
    rolling_min,
    rolling_std,
    rsi,
    sma,
)

PRICES = 100 + np.cumsum(np.random.default_rng(5).normal(0, 1, 500))


@pytest.mark.parametrize("window", [2, 5, 21, 200])
def test_rolling_windows_match_pandas(window):
    series = pd.Series(PRICES)
    np.testing.assert_allclose(sma(PRICES, window), series.rolling(window).mean(), rtol=1e-12)
    direct = np.array([np.nan] * (window - 1) + [
        PRICES[i - window + 1:i + 1].std() for i in range(window - 1, PRICES.size)])
    np.testing.assert_allclose(rolling_std(PRICES, window), direct, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(rolling_max(PRICES, window), series.rolling(window).max())
    np.testing.assert_array_equal(rolling_min(PRICES, window), series.rolling(window).min())


@pytest.mark.parametrize("span", [2, 12, 50])
def test_ema_matches_pandas_without_adjustment(span):
    expected = pd.Series(PRICES).ewm(span=span, adjust=False).mean()
    np.testing.assert_allclose(ema(PRICES, span), expected, rtol=1e-12)


def test_rsi_is_wilders():
    window = 14
    changes = np.diff(PRICES)
    gain = np.mean(np.maximum(changes[:window], 0))
    loss = np.mean(np.maximum(-changes[:window], 0))
    expected = [100 - 100 / (1 + gain / loss)]
    for change in changes[window:]:
        gain = (gain * (window - 1) + max(change, 0)) / window
        loss = (loss * (window - 1) + max(-change, 0)) / window
        expected.append(100 - 100 / (1 + gain / loss))
    got = rsi(PRICES, window)
    assert np.isnan(got[:window]).all()
    np.testing.assert_allclose(got[window:], expected, rtol=1e-10)


def test_crossings():
    fast = np.array([1.0, 2.0, 3.0, 2.0, 1.0, np.nan, 3.0])
    slow = np.full(7, 2.0)
    up, down = crossings(fast, slow)
    assert up.tolist() == [False, False, True, False, False, False, False]
    assert down.tolist() == [False, False, False, False, True, False, False]
