"""POST /backtest over real HTTP: the answer equals the kernel run on the same bars."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from deployments.backtest.bar_context import base_bounds, session_ends
from deployments.backtest.trade_stats import TRADE_STATS, trade_stats
from kernels.backtest import EXIT_REASONS, METRICS, bar_context, simulate, years_spanned
from kernels.indicators import sma
from strategies.sma_cross import signals
from tests.support.feed_expectations import expected_arrays, trading_days_back
from tests.support.session_calls import session_headers


def _body(**overrides) -> dict:
    days = trading_days_back(3, skip=10)
    return {"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "symbol": "TSLA",
            "interval": "5m", "start": str(days[0]), "end": str(days[-1]),
            "commission": 0.0005, **overrides}


def test_backtest_equals_the_kernel_on_the_same_bars(http, token, feed_ready):
    body = _body(direction="both", stop_loss=0.01, take_profit=0.02)
    answer = http.post("/backtest/", json=body, headers=session_headers(token), timeout=120)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    t, o, h, l, c, _ = expected_arrays("TSLA", trading_days_back(3, skip=10), 300)
    enter, leave = signals(o, h, l, c, None, 5, 20)
    equity, trades, metrics = simulate(t, o, h, l, c, enter, leave, 2, False, 0.0005, 0.0, 0.0,
                                       0.01, 0.02, 1.0, 100_000.0)
    assert result["bars"] == t.size
    assert result["equity"]["t"] == t.tolist()
    np.testing.assert_allclose(result["equity"]["v"], equity, rtol=1e-12)
    for name, value in zip(METRICS, metrics, strict=True):
        got = result["metrics"][name]
        assert (got is None and np.isnan(value)) or got == pytest.approx(value, rel=1e-12)
    assert len(result["trades"]) == trades.shape[0] > 0
    assert len(result["markers"]) == 2 * trades.shape[0]
    assert max(result["drawdown"]["v"]) <= 0
    assert result["metrics"]["max_drawdown"] == pytest.approx(-min(result["drawdown"]["v"]))

    fast, slow = result["indicators"]
    for line, window in ((fast, 5), (slow, 20)):
        assert (line["name"], line["pane"], line["style"], line["levels"]) == (
            f"SMA {window}", "overlay", "line", [])
        assert line["t"] == t[window - 1:].tolist()
        np.testing.assert_allclose(line["v"], sma(c, window)[window - 1:], rtol=1e-12)

    stats = trade_stats(_trades_of(result, t), np.asarray(result["equity"]["v"]), c,
                        t.size / years_spanned(t))
    for name in TRADE_STATS:
        got, value = result["metrics"][name], stats[name]
        assert (got is None and np.isnan(value)) or got == pytest.approx(value, rel=1e-12), name
    assert result["metrics"]["long_trades"] > 0 and result["metrics"]["short_trades"] > 0


def _trades_of(result: dict, t: np.ndarray) -> np.ndarray:
    """The answer's trades as kernel trade records (bar indices from their times)."""
    return np.array([[t.tolist().index(row["entry_time"]), t.tolist().index(row["exit_time"]),
                      1 if row["side"] == "long" else -1, row["entry_price"], row["exit_price"],
                      row["units"], row["pnl"], row["return"]] for row in result["trades"]])


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"strategy": "nope"}, "strategy"),
        ({"params": {"fast": 50, "slow": 20}}, "params.fast"),
        ({"params": {"fast": 1}}, "params.fast"),
        ({"params": {"speed": 3}}, "params.speed"),
        ({"direction": "sideways"}, "direction"),
        ({"fill": "whenever"}, "fill"),
        ({"commission": 5}, "commission"),
        ({"stop_loss": 0}, "stop_loss"),
        ({"interval": "7x"}, "interval"),
        ({"stoploss": 0.01}, "stoploss"),
        ({"sizing": {"mode": "risk", "value": 0.01}}, "sizing.mode"),
        ({"sizing": {"mode": "units", "value": 0}}, "sizing.value"),
        ({"size_fraction": 0.5, "sizing": {"mode": "cash", "value": 10}}, "size_fraction"),
        ({"entry": {"type": "limit", "offset": 2}}, "entry.offset"),
        ({"entry": {"type": "iceberg"}}, "entry.type"),
        ({"intrabar": "optimistic"}, "intrabar"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(http, token, overrides, field):
    answer = http.post("/backtest/", json=_body(**overrides), headers=session_headers(token))
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["field"] == field


def test_unknown_session_is_401(http):
    assert http.post("/backtest/", json=_body(), headers=session_headers("A" * 43)
                     ).status_code == 401


def test_a_dropped_in_strategy_can_be_backtested(http, token, platform, feed_ready):
    extra = Path(platform.env["STRATEGIES_DIR"])
    (extra / "breakout_test.py").write_text(textwrap.dedent('''
        import numpy as np
        from strategies.spec import Param, StrategySpec

        def signals(o, h, l, c, v, lookback):
            previous = np.concatenate((np.full(lookback, np.inf), c[:-lookback]))
            return c > previous, c < previous

        STRATEGY = StrategySpec(
            name="breakout_test", title="Breakout (test)", description="Dropped in by a test.",
            params=(Param("lookback", "int", 3, min=1, max=50),), signals=signals,
        )
    '''))
    answer = http.post("/backtest/", json=_body(strategy="breakout_test", params={"lookback": 4}),
                       headers=session_headers(token), timeout=120)
    assert answer.status_code == 200, answer.text
    assert answer.json()["strategy"] == "breakout_test"
    assert answer.json()["metrics"]["num_trades"] > 0
    assert answer.json()["indicators"] == []


def test_trailing_stop_and_time_exit_over_http_say_why_each_trade_ended(http, token, feed_ready):
    body = _body(trailing_stop=0.004, exit_after_bars=12)
    answer = http.post("/backtest/", json=body, headers=session_headers(token), timeout=120)
    assert answer.status_code == 200, answer.text
    t, o, h, l, c, _ = expected_arrays("TSLA", trading_days_back(3, skip=10), 300)
    enter, leave = signals(o, h, l, c, None, 5, 20)
    _, trades, _ = simulate(t, o, h, l, c, enter, leave, 0, False, 0.0005, 0.0, 0.0, 0.0, 0.0,
                            1.0, 100_000.0, 0.004, 12)
    got = answer.json()["trades"]
    assert [trade["exit_reason"] for trade in got] == [
        EXIT_REASONS[int(code)] for code in trades[:, -1]]
    assert {trade["exit_reason"] for trade in got} <= {"trailing", "time", "signal",
                                                      "end_of_data"}
    assert all(trade["bars"] <= 12 for trade in got)
    refused = http.post("/backtest/", json=_body(trailing_stop=1.5),
                        headers=session_headers(token))
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "trailing_stop"


def test_the_order_model_with_base_bar_fills_equals_the_kernel_on_the_same_bars(
        http, token, feed_ready):
    days = trading_days_back(3, skip=10)
    body = _body(direction="both", entry={"type": "limit", "offset": 0.0005, "valid_bars": 3},
                 stop_loss=0.003,
                 take_profit=0.004, flat_at_close=True, whole_units=True,
                 sizing={"mode": "risk", "value": 0.02}, intrabar="base_bars")
    answer = http.post("/backtest/", json=body, headers=session_headers(token), timeout=180)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    t, o, h, l, c, _ = expected_arrays("TSLA", days, 300)
    base_t, base_o, base_h, base_l, _, _ = expected_arrays("TSLA", days, 1)
    context = bar_context(t.size, session_ends(t, "America/New_York"),
                          (base_bounds(t, int(base_t[-1]) + 1, base_t), base_o, base_h, base_l))
    enter, leave = signals(o, h, l, c, None, 5, 20)
    _, trades, metrics = simulate(t, o, h, l, c, enter, leave, 2, False, 0.0005, 0.0, 0.0,
                                  0.003, 0.004, 0.02, 100_000.0, context=context,
                                  entry_type=1, entry_offset=0.0005, entry_valid_bars=3,
                                  flat_at_close=True, sizing_mode=3, whole_units=True)
    for name, value in zip(METRICS, metrics, strict=True):
        got = result["metrics"][name]
        assert (got is None and np.isnan(value)) or got == pytest.approx(value, rel=1e-12), name
    reasons = [trade["exit_reason"] for trade in result["trades"]]
    assert reasons == [EXIT_REASONS[int(code)] for code in trades[:, -1]]
    assert reasons and set(reasons) <= {"signal", "stop", "target", "session_end",
                                         "end_of_data"}
    day = [int(session_ends(np.array([trade["entry_time"], trade["exit_time"]]),
                            "America/New_York")[0]) for trade in result["trades"]]
    assert day == [0] * len(reasons)  # flat at the close: entered and left on one date
    assert all(trade["units"] == int(trade["units"]) for trade in result["trades"])
    intrabar = result["intrabar"]
    assert intrabar["mode"] == "base_bars" and intrabar["base"] == ["1s"]
    assert intrabar["base_bars"] == base_t.size
    assert intrabar["resolved_bars"] == metrics[METRICS.index("intrabar_resolved")] > 0
