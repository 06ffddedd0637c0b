"""Run records and their downloads: pure code, real data shapes, no Redis."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from deployments.runs.downloads import TRADE_COLUMNS, iso_utc, report, trades_csv
from deployments.runs.record import (
    HEADLINE_METRICS,
    MIN_CURVE_POINTS,
    RUN_ID_PATTERN,
    decode_record,
    evenly_spaced,
    fit_record,
    list_entry,
    new_record,
    new_run_id,
)

REQUEST = {"strategy": "sma_cross", "symbol": "tsla", "interval": "5m", "start": "2026-11-02",
           "end": "2026-11-20", "rth": True, "initial_cash": 100_000.0,
           "params": {"fast": 5, "slow": 20}}


def _trade(k: int) -> dict:
    return {"entry_time": 1_700_000_000 + 600 * k, "exit_time": 1_700_000_300 + 600 * k,
            "side": "long" if k % 2 else "short", "entry_price": 100.0 + k,
            "exit_price": 100.5 + k, "units": 10.0, "pnl": 5.0, "return": 0.005, "bars": 1,
            "exit_reason": "signal"}


def _result(bars: int, trades: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    t = 1_700_000_000 + 60 * np.arange(bars, dtype=np.int64)
    equity = 100_000 * np.cumprod(1 + rng.normal(0, 1e-3, bars))
    peak = np.maximum.accumulate(equity)
    return {"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "symbol": "TSLA",
            "interval": "1m", "bars": bars,
            "metrics": {"total_return": 0.1, "sharpe": 1.2, "num_trades": trades, "calmar": 2.0},
            "trades": [_trade(k) for k in range(trades)],
            "markers": [{"time": int(t[0]), "text": "Buy"}] * (2 * trades),
            "equity": {"t": t, "v": equity}, "drawdown": {"t": t, "v": equity / peak - 1},
            "indicators": [{"name": "SMA 5", "pane": "overlay", "t": t[4:],
                            "v": rng.normal(100, 1, bars - 4).tolist()}]}


def test_run_ids_are_random_and_match_their_pattern():
    ids = {new_run_id() for _ in range(500)}
    assert len(ids) == 500
    assert all(RUN_ID_PATTERN.fullmatch(run_id) for run_id in ids)


def test_a_record_that_fits_is_kept_whole_with_its_summary():
    result = _result(2000, 30)
    record = new_record("backtest", REQUEST, result)
    data, stored = fit_record(record, 8 << 20)
    back = decode_record(data)
    assert stored == {"complete": True} and back["stored"] == stored
    assert back["result"]["equity"]["v"] == pytest.approx(result["equity"]["v"].tolist())
    assert back["result"]["trades"] == result["trades"]
    assert back["request"] == REQUEST
    summary = back["summary"]
    assert (summary["strategy"], summary["symbol"], summary["interval"]) == (
        "sma_cross", "TSLA", "1m")  # the answer's symbol, as charted
    assert (summary["start"], summary["end"], summary["rth"]) == ("2026-11-02", "2026-11-20", True)
    assert summary["trades"] == 30 and summary["bars"] == 2000
    assert set(summary["metrics"]) == set(HEADLINE_METRICS)
    assert "calmar" not in summary["metrics"] and summary["metrics"]["sharpe"] == 1.2
    entry = list_entry(back)
    assert entry["complete"] is True and "equity" not in entry and "result" not in entry


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="kind"):
        new_record("sweep", REQUEST, _result(10, 1))


def test_evenly_spaced_keeps_the_ends():
    assert evenly_spaced(5, 10).tolist() == [0, 1, 2, 3, 4]
    index = evenly_spaced(1_000_001, 1000)
    assert index[0] == 0 and index[-1] == 1_000_000 and len(index) == 1000
    assert np.ptp(np.diff(index)) <= 1


def test_a_huge_chart_is_thinned_to_fit_and_says_so():
    bars = 400_000
    result = _result(bars, 200)
    max_bytes = 1 << 20
    data, stored = fit_record(new_record("backtest", REQUEST, result), max_bytes)
    assert len(data) <= max_bytes
    back = decode_record(data)
    assert back["stored"] == stored and stored["complete"] is False
    points = stored["curves"]["points"]
    assert stored["curves"]["of"] == bars and MIN_CURVE_POINTS <= points < bars
    equity = back["result"]["equity"]
    assert len(equity["t"]) == len(equity["v"]) <= points
    assert equity["t"][0] == int(result["equity"]["t"][0])
    assert equity["t"][-1] == int(result["equity"]["t"][-1])
    assert equity["v"][-1] == pytest.approx(result["equity"]["v"][-1])
    assert len(back["result"]["drawdown"]["t"]) == len(equity["t"])
    assert len(back["result"]["indicators"][0]["t"]) <= points
    assert back["result"]["trades"] == result["trades"], "trades are kept whole"
    assert back["result"]["metrics"] == result["metrics"]
    assert list_entry(back)["complete"] is False


def test_too_many_trades_for_the_cap_keep_the_first_ones_and_say_so():
    result = _result(1000, 6000)
    max_bytes = 64 << 10
    data, stored = fit_record(new_record("backtest", REQUEST, result), max_bytes)
    assert len(data) <= max_bytes
    back = decode_record(data)
    kept = stored["trades"]["kept"]
    assert stored["trades"]["of"] == 6000 and 0 < kept < 6000
    assert back["result"]["trades"] == result["trades"][:kept]
    assert back["result"]["markers"] == [] and stored["dropped"] == ["markers"]
    assert back["summary"]["trades"] == 6000, "the summary counts every trade of the run"


def test_trades_csv_has_one_row_per_trade_with_iso_utc_times():
    trades = [_trade(k) for k in range(3)]
    trades[1]["return"] = None
    rows = list(csv.DictReader(io.StringIO(trades_csv(trades))))
    assert list(rows[0]) == list(TRADE_COLUMNS)
    assert len(rows) == 3
    assert rows[0]["entry_time"] == iso_utc(trades[0]["entry_time"]) == "2023-11-14T22:13:20Z"
    assert float(rows[2]["pnl"]) == trades[2]["pnl"] and rows[1]["return"] == ""
    assert rows[0]["side"] == "short" and rows[0]["exit_reason"] == "signal"


def test_a_new_trade_field_becomes_a_column():
    trades = [{**_trade(0), "mae": -0.01, "fills": [1, 2]}, _trade(1)]
    rows = list(csv.DictReader(io.StringIO(trades_csv(trades))))
    assert list(rows[0])[-2:] == ["mae", "fills"]
    assert rows[0]["mae"] == "-0.01" and rows[0]["fills"] == "[1,2]" and rows[1]["mae"] == ""


def test_no_trades_still_gives_the_header():
    assert trades_csv([]).strip() == ",".join(TRADE_COLUMNS)


def test_the_report_holds_metrics_curves_and_request():
    record = decode_record(fit_record(new_record("backtest", REQUEST, _result(50, 2)),
                                      1 << 20)[0])
    got = report(record)
    assert got["request"] == REQUEST and got["metrics"] == record["result"]["metrics"]
    assert got["equity"] == record["result"]["equity"]
    assert got["drawdown"] == record["result"]["drawdown"]
    assert "trades" not in got and got["run_id"] == record["run_id"]
