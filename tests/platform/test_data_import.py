"""Imports of the trader's own bars over real HTTP (and the CLI), and everything on them.

Files are written with pandas into the test's tmp dir; the expected charts are pandas'
resampling of the same files, compared bar by bar with what /historical answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import ray

from deployments import PLATFORM_NAMESPACE
from deployments.data.store_actor import ACTOR_NAME
from feeds.files.store import ImportedStore
from tests.conftest import Platform
from tests.support.optimize_jobs import finish, submit
from tests.support.polling import wait_for
from tests.support.session_calls import session_headers

NY = "America/New_York"
DAYS = ["2024-03-07", "2024-03-08", "2024-03-11", "2024-03-12"]  # across the DST change


def _minute_frame(days: list[str], seed: int = 1, zone: str = NY) -> pd.DataFrame:
    """1-minute bars 09:30-15:59 of ``days`` (wall time of ``zone``), a random walk."""
    index = pd.DatetimeIndex(np.concatenate([
        pd.date_range(f"{day} 09:30", periods=390, freq="1min").to_numpy() for day in days]))
    rng = np.random.default_rng(seed)
    close = 100 + np.round(rng.standard_normal(index.size).cumsum() * 0.1, 2)
    opening = np.r_[close[0], close[:-1]]
    return pd.DataFrame({
        "Datetime": index.strftime("%Y-%m-%d %H:%M:%S"), "Open": opening,
        "High": np.maximum(opening, close) + 0.05, "Low": np.minimum(opening, close) - 0.05,
        "Close": close, "Volume": rng.integers(100, 5000, index.size),
    })


def _import(http, path: Path, symbol: str, token: str, **fields) -> dict:
    with path.open("rb") as handle:
        answer = http.post("/data/import", files={"file": (path.name, handle)},
                           data={"symbol": symbol, **fields}, headers=session_headers(token),
                           timeout=120)
    return answer


def _all_bars(http, token: str, **query) -> dict:
    answer = http.get("/historical/", params=query, headers=session_headers(token), timeout=60)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    bars = {key: list(values) for key, values in body["bars"].items()}
    while body.get("has_more"):
        body = http.get("/historical/chunk", params={
            "request_id": answer.json()["request_id"], "before": bars["t"][0]},
            headers=session_headers(token)).json()
        for key in bars:
            bars[key] = body["bars"][key] + bars[key]
    return {"answer": answer.json(), **bars}


def _pandas_bars(frame: pd.DataFrame, rule: str, zone: str, offset: str | None = None,
                 time_column: str = "Datetime") -> pd.DataFrame:
    index = pd.DatetimeIndex(pd.to_datetime(frame[time_column]))
    if index.tz is None:
        index = index.tz_localize(zone)
    data = frame.set_index(index.tz_convert(zone))
    resampled = data.resample(rule, offset=offset).agg(
        {"Open": "first", "High": "max", "Low": "min", "Close": "last", "Volume": "sum"})
    return resampled.dropna(subset=["Open"])


def _assert_same(chart: dict, expected: pd.DataFrame) -> None:
    assert chart["t"] == [int(stamp.timestamp()) for stamp in expected.index]
    for ours, theirs in (("o", "Open"), ("h", "High"), ("l", "Low"), ("c", "Close"),
                         ("v", "Volume")):
        np.testing.assert_allclose(chart[ours], expected[theirs].to_numpy(), rtol=1e-12)


@pytest.fixture(scope="module")
def minute_csv(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """A CSV of four days of 1-minute bars in New York time (naive times)."""
    frame = _minute_frame(DAYS)
    path = tmp_path_factory.mktemp("import") / "minutes.csv"
    frame.to_csv(path, index=False)
    return path, frame


@pytest.fixture(scope="module")
def imported_minutes(platform: Platform, minute_csv, token) -> dict:
    import httpx

    with httpx.Client(base_url=platform.base_url, headers=platform.auth_headers) as http:
        answer = _import(http, minute_csv[0], "tstmin", token, timezone=NY,
                         session="09:30-16:00")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_csv_import_answers_what_it_stored(imported_minutes, minute_csv):
    frame = minute_csv[1]
    assert imported_minutes["symbol"] == "file:TSTMIN"
    assert imported_minutes["bars"] == len(frame)
    assert imported_minutes["resolution"] == "1m"
    assert imported_minutes["first"] == "2024-03-07T09:30:00-05:00"
    assert imported_minutes["last"] == "2024-03-12T15:59:00-04:00"


@pytest.mark.parametrize(("interval", "rule", "offset"), [
    ("1m", "1min", None), ("5m", "5min", None), ("15m", "15min", None),
    ("1h", "1h", "30min"), ("1d", "1D", None)])
def test_charts_of_an_import_equal_pandas_resampling(http, token, imported_minutes, minute_csv,
                                                     interval, rule, offset):
    chart = _all_bars(http, token, symbol="file:TSTMIN", interval=interval, start=DAYS[0],
                      end=DAYS[-1])
    expected = _pandas_bars(minute_csv[1], rule, NY, offset)
    if interval == "1d":  # our daily bars are labelled at the session open
        expected.index = expected.index + pd.Timedelta(hours=9, minutes=30)
    _assert_same(chart, expected)
    assert chart["answer"]["timezone"] == NY


def test_a_finer_interval_than_the_file_is_refused(http, token, imported_minutes):
    answer = http.get("/historical/", params={
        "symbol": "file:TSTMIN", "interval": "30s", "start": DAYS[0], "end": DAYS[-1]},
        headers=session_headers(token))
    assert answer.status_code == 422
    assert answer.json()["detail"][0] == {
        "field": "interval", "message": "finest interval for this symbol is 1m"}


def test_backtest_and_optimize_run_on_an_imported_symbol(http, token, imported_minutes):
    body = {"strategy": "sma_cross", "params": {"fast": 5, "slow": 20},
            "symbol": "file:TSTMIN", "interval": "5m", "start": DAYS[0], "end": DAYS[-1]}
    answer = http.post("/backtest/", json=body, headers=session_headers(token), timeout=120)
    assert answer.status_code == 200, answer.text
    assert answer.json()["bars"] == 4 * 78 and answer.json()["symbol"] == "file:TSTMIN"
    body.pop("params")
    job_id = submit(http, token, {**body, "grid": {"fast": [3, 5], "slow": [12, 20]}})
    state = finish(http, job_id, token)
    assert state["status"] == "succeeded", state
    assert state["result"]["combinations"] == 4


def test_a_parquet_import_of_a_24_hour_market(http, token, tmp_path):
    index = pd.date_range("2024-05-01", periods=3 * 288, freq="5min", tz="UTC")
    rng = np.random.default_rng(7)
    close = 60000 + rng.standard_normal(index.size).cumsum() * 20
    frame = pd.DataFrame({"timestamp": (index.asi8 // 10**6), "open": close, "high": close + 5,
                          "low": close - 5, "close": close, "volume": rng.random(index.size)})
    path = tmp_path / "btc.parquet"
    frame.to_parquet(path)
    answer = _import(http, path, "tstbtc", token, timezone="UTC")
    assert answer.status_code == 200, answer.text
    assert answer.json()["resolution"] == "5m" and answer.json()["bars"] == len(frame)
    frame["Datetime"] = index
    frame = frame.rename(columns=str.capitalize)
    for interval, rule in (("15m", "15min"), ("4h", "4h"), ("1d", "1D")):
        chart = _all_bars(http, token, symbol="file:TSTBTC", interval=interval,
                          start="2024-05-01", end="2024-05-03", rth="false")
        _assert_same(chart, _pandas_bars(frame, rule, "UTC"))


def test_twenty_years_of_daily_bars_chart_and_backtest(http, token, tmp_path):
    days = pd.bdate_range("2005-01-03", "2024-12-31")
    rng = np.random.default_rng(3)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, days.size)))
    frame = pd.DataFrame({"Date": days.strftime("%Y-%m-%d"), "Open": close, "High": close * 1.01,
                          "Low": close * 0.99, "Close": close, "Volume": 1e6})
    path = tmp_path / "daily.csv"
    frame.to_csv(path, index=False)
    answer = _import(http, path, "tstday", token)
    assert answer.status_code == 200, answer.text
    assert answer.json()["resolution"] == "1d"
    chart = _all_bars(http, token, symbol="file:TSTDAY", interval="1d", start="2005-01-01",
                      end="2024-12-31")
    assert len(chart["t"]) == days.size
    weekly = _all_bars(http, token, symbol="file:TSTDAY", interval="1w", start="2005-01-01",
                       end="2024-12-31")
    assert len(weekly["t"]) == days.to_period("W").nunique()
    refused = http.get("/historical/", params={"symbol": "file:TSTDAY", "interval": "1h",
                                               "start": "2024-01-02", "end": "2024-01-05"},
                       headers=session_headers(token))
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["message"] == "finest interval for this symbol is 1d"
    run = http.post("/backtest/", json={
        "strategy": "sma_cross", "params": {"fast": 20, "slow": 100}, "symbol": "file:TSTDAY",
        "interval": "1d", "start": "2005-01-01", "end": "2024-12-31"},
        headers=session_headers(token), timeout=120)
    assert run.status_code == 200, run.text
    assert run.json()["bars"] == days.size and run.json()["trades"]


BAD_FILES = [
    ("time", 4, "Datetime", "not a time"),
    ("duplicate", 6, "Datetime", "duplicate timestamp"),
    ("unsorted", 9, "Datetime", "not sorted"),
    ("high", 12, "High", "high is below max(open, close)"),
    ("low", 13, "Low", "low is above min(open, close)"),
    ("volume", 14, "Volume", "volume is negative"),
    ("nan", 15, "Close", "NaN"),
    ("number", 16, "Open", "is not a number"),
]


@pytest.mark.parametrize(("name", "row", "column", "words"), BAD_FILES,
                         ids=[case[0] for case in BAD_FILES])
def test_a_bad_file_is_refused_naming_row_and_column_and_stores_nothing(
        http, token, imported_minutes, minute_csv, tmp_path, name, row, column, words,
        platform):
    frame = minute_csv[1].astype(object).copy()
    original = frame[column].copy()
    frame[column] = original.where(original.index != row - 1, _bad_value(name, frame, row))
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    for symbol in ("tstbad", "tstmin"):  # a new symbol, and one that exists
        answer = _import(http, path, symbol, token, timezone=NY)
        assert answer.status_code == 422, answer.text
        detail = answer.json()["detail"][0]
        assert (detail["field"], detail["row"], detail["column"]) == ("file", row, column)
        assert words in detail["message"]
    listed = http.get("/data/").json()["sources"][1]["symbols"]
    assert "file:TSTBAD" not in [entry["symbol"] for entry in listed]
    assert next(e for e in listed if e["symbol"] == "file:TSTMIN")["bars"] == len(minute_csv[1])
    staging = Path(platform.env["DATA_DIR"]) / "imports" / "staging"
    assert not any(staging.iterdir())


def _bad_value(name: str, frame: pd.DataFrame, row: int):
    index = row - 1
    return {
        "time": "not-a-time", "duplicate": frame["Datetime"][index - 1],
        "unsorted": "2024-03-07 09:31:00", "high": frame["Close"][index] - 1,
        "low": frame["Close"][index] + 1, "volume": -5, "nan": np.nan, "number": "abc",
    }[name]


def test_a_reimport_replaces_whole_days_and_charts_follow(http, token, tmp_path):
    first = _minute_frame(DAYS[:3], seed=1)
    path = tmp_path / "first.csv"
    first.to_csv(path, index=False)
    assert _import(http, path, "tstre", token).status_code == 200
    before = _all_bars(http, token, symbol="file:TSTRE", interval="1d", start=DAYS[0],
                       end=DAYS[-1])
    second = _minute_frame(DAYS[2:], seed=2)
    path = tmp_path / "second.csv"
    second.to_csv(path, index=False)
    answer = _import(http, path, "tstre", token)
    assert answer.status_code == 200, answer.text
    assert answer.json()["replaced_days"] == 1
    assert answer.json()["bars"] == 4 * 390
    after = _all_bars(http, token, symbol="file:TSTRE", interval="1d", start=DAYS[0],
                      end=DAYS[-1])
    assert after["c"][:2] == before["c"][:2]
    # No session hours given: a 24-hour market, whose days are labelled at midnight.
    _assert_same(after, _pandas_bars(pd.concat([first[first["Datetime"] < DAYS[2]], second]),
                                     "1D", NY))


def test_a_deleted_symbol_is_gone_with_its_charts(http, token, tmp_path):
    path = tmp_path / "gone.csv"
    _minute_frame(DAYS[:1]).to_csv(path, index=False)
    assert _import(http, path, "tstgone", token).status_code == 200
    query = {"symbol": "file:TSTGONE", "interval": "5m", "start": DAYS[0], "end": DAYS[0]}
    assert http.get("/historical/", params=query, headers=session_headers(token)
                    ).status_code == 200
    assert http.delete("/data/file:TSTGONE").json() == {"symbol": "file:TSTGONE",
                                                         "deleted": True}
    assert http.delete("/data/file:TSTGONE").status_code == 404
    answer = http.get("/historical/", params=query, headers=session_headers(token))
    assert answer.status_code == 404 and answer.json()["detail"][0]["field"] == "symbol"


def test_imported_bars_outlive_redis_and_the_actor(http, token, imported_minutes, platform):
    import redis

    client = redis.Redis.from_url(platform.redis_url)
    for pattern in ("v1:data:*", "v1:agg:file:*"):  # what a Redis restart would lose
        for key in client.scan_iter(match=pattern, count=1000):
            client.delete(key)
    actor = ray.get_actor(ACTOR_NAME, namespace=PLATFORM_NAMESPACE)
    ray.kill(actor, no_restart=False)
    fresh = http.get("/utils/session/initiate").json()["session_token"]

    def charted() -> bool:
        answer = http.get("/historical/", params={
            "symbol": "file:TSTMIN", "interval": "1h", "start": DAYS[0], "end": DAYS[-1]},
            headers=session_headers(fresh))
        return answer.status_code == 200 and answer.json()["total"] == 4 * 7

    assert wait_for(charted, 60)
    on_disk = ImportedStore(Path(platform.env["DATA_DIR"]) / "imports").entry("file:TSTMIN")
    assert on_disk is not None and on_disk.bars == 4 * 390


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_the_cli_imports_a_file_and_reports_progress(platform: Platform, tmp_path, http, kind):
    path = tmp_path / f"cli.{kind}"
    frame = _minute_frame(DAYS[:2], seed=5)
    frame.to_csv(path, index=False) if kind == "csv" else frame.to_parquet(path)
    run = subprocess.run(
        [sys.executable, "-m", "deployments.data", "import", str(path), "--symbol", "tstcli",
         "--tz", NY, "--url", platform.base_url],
        env={**os.environ, "ACCESS_TOKEN": platform.env["ACCESS_TOKEN"]},
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert '"symbol": "file:TSTCLI"' in run.stdout
    assert "imported 780 bars as file:TSTCLI" in run.stderr
    assert platform.env["ACCESS_TOKEN"] not in run.stdout + run.stderr
    listed = http.get("/data/").json()["sources"][1]["symbols"]
    assert any(entry["symbol"] == "file:TSTCLI" for entry in listed)


def test_a_weekend_range_answers_a_notice(http, token, feed_ready):
    answer = http.get("/historical/", params={
        "symbol": "AAPL", "interval": "5m", "start": "2024-03-09", "end": "2024-03-10"},
        headers=session_headers(token))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == 0 and body["bars"]["t"] == []
    assert body["notice"].startswith("no trading sessions between 2024-03-09 and 2024-03-10")
