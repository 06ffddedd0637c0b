"""The backtest kernel against the plain-Python reference, on hand-built and random cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deployments.backtest.request import BacktestIn
from deployments.backtest.result import indicator_json, run_backtest
from deployments.backtest.trade_stats import TRADE_STATS, trade_stats
from feeds.bars import Bars
from kernels.backtest import EXIT_REASONS, METRICS, TRADE_FIELDS, bar_context, simulate
from kernels.indicators import sma
from strategies.registry import load_registry
from strategies.spec import IndicatorSeries, StrategySpec
from tests.support.backtest_reference import (
    order_options,
    random_base_bars,
    random_ohlc,
    random_sessions,
    reference_backtest,
    trading_options,
)

DAY = 86400


def _bars(closes, highs=None, lows=None, opens=None):
    c = np.asarray(closes, dtype=float)
    o = np.asarray(opens if opens is not None else np.r_[c[0], c[:-1]], dtype=float)
    h = np.asarray(highs if highs is not None else np.maximum(o, c), dtype=float)
    l = np.asarray(lows if lows is not None else np.minimum(o, c), dtype=float)
    t = np.arange(c.size, dtype=np.int64) * DAY + 1_700_000_000
    return t, o, h, l, c


POSITIONAL = ("direction", "fill_close", "commission", "commission_fixed", "slippage",
              "stop_loss", "take_profit", "size", "initial_cash", "trailing_stop",
              "exit_after_bars")


def _run(bars, enter, leave, session_end=None, base=None, **options):
    params = {"direction": 0, "fill_close": False, "commission": 0.0, "commission_fixed": 0.0,
              "slippage": 0.0, "stop_loss": 0.0, "take_profit": 0.0, "size": 1.0,
              "initial_cash": 1000.0, "trailing_stop": 0.0, "exit_after_bars": 0, **options}
    keywords = {name: params.pop(name) for name in list(params) if name not in POSITIONAL}
    args = (*bars, np.asarray(enter, bool), np.asarray(leave, bool), *params.values())
    context = bar_context(len(bars[0]), session_end, base)
    return (simulate(*args, context=context, **keywords),
            reference_backtest(*args, session_end=session_end, base=base, **keywords))


def _same(ours, reference):
    (equity, trades, metrics), (ref_equity, ref_trades, ref_metrics) = ours, reference
    np.testing.assert_allclose(equity, ref_equity, rtol=1e-9)
    assert trades.shape[0] == len(ref_trades)
    for row, ref in zip(trades, ref_trades, strict=True):
        np.testing.assert_allclose(row, [ref[f] for f in TRADE_FIELDS], rtol=1e-9)
    for k, name in enumerate(METRICS):
        expected = ref_metrics[name]
        if math.isnan(expected):
            assert math.isnan(metrics[k]), name
        else:
            assert metrics[k] == pytest.approx(expected, rel=1e-9, abs=1e-12), name


def test_no_signal_no_trade():
    (equity, trades, metrics), reference = _run(_bars([10, 11, 12, 11]), [0] * 4, [0] * 4)
    assert trades.shape[0] == 0 and np.all(equity == 1000)
    assert metrics[METRICS.index("total_return")] == 0
    assert math.isnan(metrics[METRICS.index("win_rate")])
    _same((equity, trades, metrics), reference)


def test_signal_on_close_fills_at_the_next_open():
    bars = _bars([10, 10, 12, 13, 15, 14], opens=[10, 10, 11, 13, 14, 14])
    ours, reference = _run(bars, [0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0])
    trades = ours[1]
    assert trades.shape[0] == 1
    entry_index, exit_index, side, entry, exit_price, _units, pnl, _, _reason = trades[0]
    assert (entry_index, exit_index, side) == (2, 4, 1)
    assert (entry, exit_price) == (11, 14)  # bar 2's open, bar 4's open
    assert pnl == pytest.approx(1000 / 11 * 3)
    _same(ours, reference)


def test_fill_at_close_and_costs():
    bars = _bars([10, 10, 12, 13, 15, 14])
    ours, reference = _run(bars, [0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0], fill_close=True,
                           commission=0.001, commission_fixed=1.0, slippage=0.002)
    entry, exit_price, pnl = ours[1][0][3], ours[1][0][4], ours[1][0][6]
    assert entry == pytest.approx(10 * 1.002) and exit_price == pytest.approx(13 * 0.998)
    value = (1000 - 1) / 1.001  # value + 0.1% fee + 1 fixed = the 1000 committed
    units = value / entry
    assert pnl == pytest.approx((exit_price - entry) * units - (1 + 1) - 0.001 * value
                                - 0.001 * units * exit_price)
    _same(ours, reference)


def test_stop_and_target_in_one_bar_take_the_stop():
    # Enter at 100 (bar 1 open); bar 2 touches both 95 (stop) and 110 (target).
    bars = _bars([100, 100, 101, 101], highs=[100, 101, 111, 102], lows=[100, 99, 94, 100],
                 opens=[100, 100, 100, 101])
    ours, reference = _run(bars, [1, 0, 0, 0], [0] * 4, stop_loss=0.05, take_profit=0.10)
    assert ours[1][0][4] == pytest.approx(95) and ours[1][0][1] == 2
    _same(ours, reference)


def test_gap_through_the_stop_fills_at_the_open():
    bars = _bars([100, 100, 90, 90], highs=[100, 101, 91, 91], lows=[100, 99, 88, 89],
                 opens=[100, 100, 90, 90])
    ours, reference = _run(bars, [1, 0, 0, 0], [0] * 4, stop_loss=0.05)
    assert ours[1][0][4] == 90  # opened below the 95 stop
    _same(ours, reference)


def test_gap_beyond_the_target_fills_at_the_open_even_if_the_stop_is_touched_later():
    # Long from 100; bar 2 opens at 112 (above the 110 target) and then trades down to 94.
    bars = _bars([100, 100, 95, 95], highs=[100, 101, 112, 96], lows=[100, 99, 94, 94],
                 opens=[100, 100, 112, 95])
    ours, reference = _run(bars, [1, 0, 0, 0], [0] * 4, stop_loss=0.05, take_profit=0.10)
    assert ours[1][0][4] == 112 and ours[1][0][6] > 0
    _same(ours, reference)


def test_short_and_reversing():
    bars = _bars([10, 12, 9, 8, 11, 12, 10])
    for direction in (1, 2):
        ours, reference = _run(bars, [0, 1, 0, 0, 1, 0, 0], [1, 0, 0, 1, 0, 0, 1],
                               direction=direction, fill_close=True)
        assert ours[1].shape[0] >= 2
        assert set(ours[1][:, 2]) >= {-1.0}
        _same(ours, reference)


def test_open_position_is_closed_at_the_end():
    ours, reference = _run(_bars([10, 11, 12, 13]), [1, 0, 0, 0], [0] * 4)
    # Entered at bar 1's open (10, the previous close), closed at the last close (13).
    assert ours[1][0][1] == 3 and ours[0][-1] == pytest.approx(1000 / 10 * 13)
    _same(ours, reference)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(2, 300), options=trading_options())
def test_random_cases_match_the_reference(seed, size, options):
    rng = np.random.default_rng(seed)
    opens, high, low, close = random_ohlc(rng, size)
    bars = _bars(close, high, low, opens)
    ours, reference = _run(bars, rng.random(size) < 0.15, rng.random(size) < 0.15,
                           **dict(zip(POSITIONAL, options, strict=True)))
    _same(ours, reference)


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(2, 200), options=trading_options(),
       orders=order_options(), intrabar=st.booleans())
def test_random_order_models_match_the_reference(seed, size, options, orders, intrabar):
    rng = np.random.default_rng(seed)
    opens, high, low, close = random_ohlc(rng, size)
    bars = _bars(close, high, low, opens)
    base = random_base_bars(rng, opens, high, low, close) if intrabar else None
    ours, reference = _run(bars, rng.random(size) < 0.2, rng.random(size) < 0.2,
                           session_end=random_sessions(rng, size), base=base,
                           **{**dict(zip(POSITIONAL, options, strict=True)), **orders})
    _same(ours, reference)


def test_signals_of_the_wrong_shape_or_with_nan_are_refused():
    bars = _bars([10, 11, 12, 11])
    with pytest.raises(ValueError, match="shape"):
        _run(bars, [1, 0, 0], [0, 0, 0])
    with pytest.raises(ValueError, match="NaN"):
        simulate(*bars, np.array([1.0, np.nan, 0, 0]), np.zeros(4), 0, False, 0, 0, 0, 0, 0, 1,
                 1000.0)


def _answer(strategy: str, params: dict, closes: np.ndarray, **settings) -> tuple[dict, Bars]:
    spec = load_registry().strategies[strategy]
    t, o, h, l, c = _bars(closes)
    bars = Bars(t, o, h, l, c, np.full(c.size, 100.0))
    body = BacktestIn(strategy=strategy, symbol="TEST", interval="1d", start="2024-01-01",
                      end="2024-12-31", params=params, **settings)
    return run_backtest(spec, spec.validate(params), bars, body), bars


def test_the_answer_has_the_trade_stats_of_its_own_trades():
    closes = 100 + np.cumsum(np.random.default_rng(3).normal(0, 1, 300))
    answer, bars = _answer("sma_cross", {"fast": 5, "slow": 20}, closes,
                                   direction="both")
    equity = np.asarray(answer["equity"]["v"])
    trades = np.array([[np.searchsorted(bars.t, row["entry_time"]),
                        np.searchsorted(bars.t, row["exit_time"]),
                        1 if row["side"] == "long" else -1, row["entry_price"],
                        row["exit_price"], row["units"], row["pnl"], row["return"]]
                       for row in answer["trades"]])
    years = (bars.t[-1] - bars.t[0]) / (365.25 * DAY)
    expected = trade_stats(trades, equity, bars.c, bars.t.size / years)
    assert set(answer["metrics"]) == set(METRICS) | set(TRADE_STATS)
    for name in TRADE_STATS:
        assert answer["metrics"][name] == pytest.approx(expected[name], rel=1e-12), name
    assert answer["metrics"]["long_trades"] + answer["metrics"]["short_trades"] == len(trades)
    assert answer["metrics"]["buy_hold_return"] == pytest.approx(closes[-1] / closes[0] - 1)


def test_the_answer_draws_the_strategys_series_without_the_warm_up():
    closes = 100 + np.cumsum(np.random.default_rng(4).normal(0, 1, 120))
    answer, bars = _answer("sma_cross", {"fast": 5, "slow": 20}, closes)
    fast, slow = answer["indicators"]
    assert set(fast) == {"name", "pane", "style", "levels", "t", "v"}
    assert (fast["name"], fast["pane"], fast["style"], fast["levels"]) == ("SMA 5", "overlay",
                                                                           "line", [])
    assert fast["t"].tolist() == bars.t[4:].tolist() and slow["t"].tolist() == bars.t[19:].tolist()
    np.testing.assert_array_equal(fast["v"], sma(bars.c, 5)[4:])
    np.testing.assert_array_equal(slow["v"], sma(bars.c, 20)[19:])
    rsi_answer, _ = _answer("rsi_reversion", {"lower": 20.0}, closes)
    (line,) = rsi_answer["indicators"]
    assert (line["pane"], line["levels"], len(line["t"]), len(line["v"])) == ("rsi",
                                                                              [20.0, 70.0],
                                                                              106, 106)


def test_a_series_that_is_all_warm_up_is_empty_and_later_gaps_are_null():
    t = np.arange(5, dtype=np.int64)
    empty = indicator_json(t, IndicatorSeries("x", np.full(5, np.nan)))
    assert (empty["t"].tolist(), empty["v"]) == ([], [])
    gaps = indicator_json(t, IndicatorSeries("y", [np.nan, 1.0, np.nan, np.inf, 2.0], pane="p",
                                             levels=(1,), style="histogram"))
    assert (gaps["t"].tolist(), gaps["v"]) == ([1, 2, 3, 4], [1.0, None, None, 2.0])
    assert (gaps["pane"], gaps["levels"], gaps["style"]) == ("p", [1.0], "histogram")


def test_a_strategy_without_indicators_answers_none():
    spec = StrategySpec(name="plain", title="Plain", description="", params=(),
                        signals=lambda o, h, l, c, v: (c > c.mean(), c < c.mean()))
    t, o, h, l, c = _bars(np.linspace(10, 12, 30))
    body = BacktestIn(strategy="plain", symbol="TEST", interval="1d", start="2024-01-01",
                      end="2024-12-31")
    answer = run_backtest(spec, {}, Bars(t, o, h, l, c, np.ones(30)), body)
    assert answer["indicators"] == []


def _reasons(trades) -> list[str]:
    return [EXIT_REASONS[int(code)] for code in trades[:, TRADE_FIELDS.index("exit_reason")]]


def test_a_trailing_stop_follows_the_best_high_and_says_so():
    # Enter at bar 1's open (10); highs 11, 12.5 move the best price; 10% under 12.5 is 11.25.
    bars = _bars([10, 11, 12, 11.5, 9], highs=[10, 11, 12.5, 12, 11.5],
                 lows=[10, 10, 11, 11.3, 9], opens=[10, 10, 11, 12, 11.5])
    ours, reference = _run(bars, [1, 0, 0, 0, 0], [0] * 5, trailing_stop=0.1, stop_loss=0.2)
    trades = ours[1]
    assert _reasons(trades) == ["trailing"] and trades[0, 1] == 4
    assert trades[0, TRADE_FIELDS.index("exit_price")] == pytest.approx(12.5 * 0.9)
    _same(ours, reference)


def test_a_gap_under_the_trailing_stop_fills_at_the_open():
    bars = _bars([10, 12, 9], highs=[10, 12, 9.5], lows=[10, 10, 8.5], opens=[10, 10, 9])
    ours, reference = _run(bars, [1, 0, 0], [0] * 3, trailing_stop=0.05)
    assert _reasons(ours[1]) == ["trailing"]
    assert ours[1][0, TRADE_FIELDS.index("exit_price")] == 9
    _same(ours, reference)


def test_the_fixed_stop_is_the_stop_while_it_is_tighter():
    bars = _bars([10, 10.2, 9.4], highs=[10, 10.2, 10], lows=[10, 9.9, 9.3],
                 opens=[10, 10, 10])
    ours, reference = _run(bars, [1, 0, 0], [0] * 3, trailing_stop=0.1, stop_loss=0.05)
    assert _reasons(ours[1]) == ["stop"]
    assert ours[1][0, TRADE_FIELDS.index("exit_price")] == pytest.approx(9.5)
    _same(ours, reference)


def test_a_time_exit_closes_after_n_bars_and_every_reason_is_recorded():
    closes = [10, 10, 10.5, 11, 11, 12, 12, 11, 11, 10]
    bars = _bars(closes)
    enter = [1, 0, 0, 0, 1, 0, 0, 0, 1, 0]
    ours, reference = _run(bars, enter, [0] * 10, exit_after_bars=2)
    trades = ours[1]
    assert _reasons(trades) == ["time", "time", "end_of_data"]
    assert (trades[:2, 1] - trades[:2, 0]).tolist() == [2, 2]
    _same(ours, reference)
    target = _run(_bars([10, 10, 12]), [1, 0, 0], [0] * 3, take_profit=0.1)
    assert _reasons(target[0][1]) == ["target"]
    _same(*target)
    signal = _run(_bars([10, 10, 11, 11]), [1, 0, 0, 0], [0, 0, 1, 0])
    assert _reasons(signal[0][1]) == ["signal"]
    _same(*signal)
