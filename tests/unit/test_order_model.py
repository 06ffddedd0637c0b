"""The order model by hand: limit and stop entries, flat at the close, sizing modes, intrabar
resolution on base bars. Each case states the truth worked out on paper, then checks the
kernel and the reference implementation against it (and each other)."""

from __future__ import annotations

import numpy as np
import pytest

from deployments.backtest.bar_context import base_bounds, session_ends
from deployments.backtest.request import BacktestIn
from deployments.common.errors import FieldError
from kernels.backtest import EXIT_REASONS, METRICS, TRADE_FIELDS
from tests.unit.test_backtest import _bars, _run, _same

ENTRY, EXIT = TRADE_FIELDS.index("entry_price"), TRADE_FIELDS.index("exit_price")
UNITS = TRADE_FIELDS.index("units")
RESOLVED = METRICS.index("intrabar_resolved")
LIMIT, STOP = 1, 2


def _reasons(trades) -> list[str]:
    return [EXIT_REASONS[int(code)] for code in trades[:, TRADE_FIELDS.index("exit_reason")]]


def _entries(trades) -> list[tuple[int, float]]:
    return [(int(row[0]), float(row[ENTRY])) for row in trades]


def test_a_limit_buys_below_the_signal_close_when_the_range_reaches_it():
    # Signal at bar 0's close (100): a limit 2% under it, 98, good for 3 bars. Bar 1's low is
    # 98.5 (no fill), bar 2 trades down to 97: filled at 98.
    bars = _bars([100, 99, 99, 100, 101], opens=[100, 99.5, 99, 99, 100],
                 highs=[100, 100, 99.5, 100, 101], lows=[100, 98.5, 97, 99, 100])
    ours, reference = _run(bars, [1, 0, 0, 0, 0], [0] * 5, entry_type=LIMIT, entry_offset=0.02,
                           entry_valid_bars=3)
    assert _entries(ours[1]) == [(2, pytest.approx(98.0))]
    _same(ours, reference)


def test_a_limit_fills_at_the_open_when_the_bar_opens_through_it_and_expires_unfilled():
    bars = _bars([100, 97, 97], opens=[100, 96, 97], highs=[100, 97, 98], lows=[100, 95, 96])
    ours, reference = _run(bars, [1, 0, 0], [0] * 3, entry_type=LIMIT, entry_offset=0.02)
    assert _entries(ours[1]) == [(1, 96.0)]  # opened at 96, under the 98 level
    _same(ours, reference)
    # Valid for one bar: bar 1 stays above 98, bar 2 would fill, but the order has expired.
    late = _bars([100, 99, 97], opens=[100, 99, 98.5], highs=[100, 99.5, 99], lows=[100, 98.5, 97])
    ours, reference = _run(late, [1, 0, 0], [0] * 3, entry_type=LIMIT, entry_offset=0.02)
    assert ours[1].shape[0] == 0
    _same(ours, reference)


def test_a_stop_entry_buys_above_and_a_short_limit_sells_above():
    bars = _bars([100, 101, 103, 103], opens=[100, 100.5, 101, 103],
                 highs=[100, 101.5, 103.5, 104], lows=[100, 100, 100.8, 102])
    ours, reference = _run(bars, [1, 0, 0, 0], [0] * 4, entry_type=STOP, entry_offset=0.02,
                           entry_valid_bars=5)
    assert _entries(ours[1]) == [(2, pytest.approx(102.0))]  # bar 2 reaches 102
    _same(ours, reference)
    short = _run(bars, [0] * 4, [1, 0, 0, 0], direction=1, entry_type=LIMIT, entry_offset=0.02,
                 entry_valid_bars=5)
    assert _entries(short[0][1]) == [(2, pytest.approx(102.0))]
    assert short[0][1][0, TRADE_FIELDS.index("side")] == -1
    _same(*short)


def test_an_opposite_signal_cancels_a_working_order():
    bars = _bars([100, 100, 99, 97], opens=[100, 100, 100, 99], highs=[100, 100.5, 100, 99],
                 lows=[100, 99, 98.5, 96])
    # Limit at 98; bar 1's exit signal cancels it before bar 3 would have filled it.
    ours, reference = _run(bars, [1, 0, 0, 0], [0, 1, 0, 0], entry_type=LIMIT,
                           entry_offset=0.02, entry_valid_bars=5)
    assert ours[1].shape[0] == 0
    _same(ours, reference)


def test_flat_at_close_exits_at_each_session_end_and_opens_nothing_on_it():
    bars = _bars([10, 11, 12, 13, 14, 15])
    ends = np.array([False, False, True, False, True, False])
    # Enter at bar 1's open; out at bar 2's close (session end). The signal on bar 4 (a
    # session end) opens nothing; the one on bar 3 enters at bar 4's open, out at its close.
    ours, reference = _run(bars, [1, 0, 0, 1, 1, 0], [0] * 6, session_end=ends,
                           flat_at_close=True)
    trades = ours[1]
    assert _reasons(trades) == ["session_end", "session_end"]
    assert trades[:, :2].tolist() == [[1, 2], [4, 4]]
    assert trades[0, EXIT] == 12
    _same(ours, reference)
    held = _run(bars, [1, 0, 0, 1, 1, 0], [0] * 6, session_end=ends)
    assert _reasons(held[0][1]) == ["end_of_data"]


@pytest.mark.parametrize(("mode", "size", "whole", "expected_units"), [
    (0, 0.5, False, 500 / 10),           # half the equity (no costs)
    (1, 250.0, False, 250 / 10),         # 250 of cash
    (1, 5_000.0, False, 1000 / 10),      # more cash than there is: all of it
    (2, 7.0, False, 7.0),                # 7 units
    (2, 1e6, False, 1000 / 10),          # more units than the cash buys: what it buys
    (3, 0.01, False, 0.01 * 1000 / (10 * 0.05)),  # lose 1% of 1000 at the 5% stop: 20 units
    (0, 0.333, True, 33.0),              # 33.3 units rounded down
])
def test_each_sizing_mode_buys_what_it_says(mode, size, whole, expected_units):
    bars = _bars([10, 10, 10.5, 11])
    ours, reference = _run(bars, [1, 0, 0, 0], [0] * 4, sizing_mode=mode, size=size,
                           whole_units=whole, stop_loss=0.05)
    assert ours[1][0, UNITS] == pytest.approx(expected_units)
    _same(ours, reference)


def test_risk_sizing_uses_the_tighter_of_the_fixed_and_the_trailing_stop():
    bars = _bars([10, 10, 10.5, 11])
    ours, reference = _run(bars, [1, 0, 0, 0], [0] * 4, sizing_mode=3, size=0.01,
                           stop_loss=0.05, trailing_stop=0.02)
    assert ours[1][0, UNITS] == pytest.approx(10 / (10 * 0.02))
    _same(ours, reference)


# Long from bar 1's open (100) with a 95 stop and a 110 target; bar 2 reaches both.
BOTH = _bars([100, 100, 101, 101], opens=[100, 100, 100, 101], highs=[100, 101, 111, 102],
             lows=[100, 99, 94, 100])


def _base(per_bar: list[list[tuple[float, float, float]]]):
    """``bounds, o, h, l`` from each bar's list of (open, high, low) base bars."""
    rows = [row for bar in per_bar for row in bar]
    bounds = np.r_[0, np.cumsum([len(bar) for bar in per_bar])].astype(np.int64)
    o, h, l = (np.array([row[k] for row in rows]) for k in range(3))
    return bounds, o, h, l


def test_base_bars_that_reach_the_target_first_take_the_target():
    # Bar 2's base bars: up to 111 first (target 110), then down to 94 (stop 95).
    base = _base([[], [], [(100, 111, 99.5), (109, 109.5, 94)], []])
    truth, reference = _run(BOTH, [1, 0, 0, 0], [0] * 4, stop_loss=0.05, take_profit=0.10,
                            base=base)
    assert _reasons(truth[1]) == ["target"] and truth[1][0, EXIT] == pytest.approx(110)
    assert truth[2][RESOLVED] == 1
    _same(truth, reference)
    pessimistic, _ = _run(BOTH, [1, 0, 0, 0], [0] * 4, stop_loss=0.05, take_profit=0.10)
    assert _reasons(pessimistic[1]) == ["stop"] and pessimistic[2][RESOLVED] == 0


def test_base_bars_that_reach_the_stop_first_agree_with_the_pessimistic_rule():
    base = _base([[], [], [(100, 100.5, 94), (95, 111, 95)], []])
    truth, reference = _run(BOTH, [1, 0, 0, 0], [0] * 4, stop_loss=0.05, take_profit=0.10,
                            base=base)
    assert _reasons(truth[1]) == ["stop"] and truth[2][RESOLVED] == 1
    _same(truth, reference)


def test_a_limit_filled_inside_a_bar_takes_a_target_reached_after_the_fill():
    # Limit at 98 from bar 0's close; target 3% over 98 = 100.94. Bar 1 opens at 99.5, trades
    # down to 97.5 (fill), then up to 101: pessimistically the target is not credited on the
    # fill bar (it may have come first); the base bars show it came after.
    bars = _bars([100, 100.5, 100.5], opens=[100, 99.5, 100.5], highs=[100, 101, 100.8],
                 lows=[100, 97.5, 100])
    options = {"entry_type": LIMIT, "entry_offset": 0.02, "take_profit": 0.03}
    base = _base([[], [(99.5, 99.6, 97.5), (97.6, 101, 97.6)], []])
    truth, reference = _run(bars, [1, 0, 0], [0] * 3, base=base, **options)
    assert _reasons(truth[1]) == ["target"] and truth[1][0, :2].tolist() == [1, 1]
    assert truth[1][0, EXIT] == pytest.approx(98 * 1.03) and truth[2][RESOLVED] == 1
    _same(truth, reference)
    pessimistic, reference = _run(bars, [1, 0, 0], [0] * 3, **options)
    assert _reasons(pessimistic[1]) == ["end_of_data"]
    _same(pessimistic, reference)


def test_session_ends_fall_on_the_last_bar_of_each_local_date():
    # 15:50 and 15:55 New York on two days (UTC-5 in January), then 09:30 the next day.
    day = 1_704_729_600  # 2024-01-08 16:00 UTC = 11:00 New York
    t = np.array([day + 17_400, day + 17_700, day + 86_400 - 5_400, day + 86_400 + 17_400])
    assert session_ends(t, "America/New_York").tolist() == [False, True, False, False]
    assert base_bounds(np.array([10, 20]), 30, np.arange(5, 35, 5)).tolist() == [1, 3, 5]


def test_request_sizing_checks_name_the_field():
    common = {"strategy": "sma_cross", "symbol": "AAPL", "interval": "5m",
              "start": "2024-01-02", "end": "2024-01-05"}
    with pytest.raises(FieldError) as error:
        BacktestIn(**common, sizing={"mode": "risk", "value": 0.01}).packed_params()
    assert error.value.field == "sizing.mode"
    with pytest.raises(FieldError) as error:
        BacktestIn(**common, sizing={"mode": "cash", "value": 10.0},
                   size_fraction=0.5).packed_params()
    assert error.value.field == "size_fraction"
    with pytest.raises(FieldError) as error:
        BacktestIn(**common, sizing={"mode": "equity_fraction", "value": 2.0}).packed_params()
    assert error.value.field == "sizing.value"
    params = BacktestIn(**common, size_fraction=0.5, whole_units=True,
                        entry={"type": "stop", "offset": 0.01, "valid_bars": 4}).packed_params()
    assert params[7] == 0.5 and params[11:17].tolist() == [2, 0.01, 4, 0, 0, 1]


def test_entry_and_sizing_codes_are_named_in_the_order_of_the_public_names():
    from kernels import backtest_core as core
    from kernels.backtest import ENTRY_TYPES, SIZING_MODES
    entries = [ENTRY_TYPES.index(name) for name in ("market", "limit", "stop")]
    assert entries == [core.E_MARKET, core.E_LIMIT, core.E_STOP]
    modes = [SIZING_MODES.index(name) for name in ("equity_fraction", "cash", "units", "risk")]
    assert modes == [core.S_EQUITY, core.S_CASH, core.S_UNITS, core.S_RISK]
