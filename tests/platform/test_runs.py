"""/runs over real HTTP: every backtest stored as a run of the session's workspace, listed,
reopened, downloaded and deleted; another workspace's runs unknown; runs outlive a session."""

from __future__ import annotations

import asyncio
import csv
import io

import httpx
import pytest
import redis

from deployments.common.redis_client import make_client
from deployments.runs.downloads import iso_utc
from deployments.runs.record import RUN_ID_PATTERN
from deployments.runs.store import RunStore, index_key, run_key, summary_key
from deployments.sessions.store import session_key
from deployments.sessions.workspaces import workspace_key
from tests.conftest import Platform
from tests.support.feed_expectations import trading_days_back
from tests.support.launched_feed import watchdog_status
from tests.support.polling import wait_for
from tests.support.session_calls import initiate_in, session_headers

RUNS_TTL_S = 30 * 86400  # RUNS_TTL_DAYS' default: the test platform does not set it


def _body(**overrides) -> dict:
    days = trading_days_back(3, skip=10)
    return {"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "symbol": "TSLA",
            "interval": "5m", "start": str(days[0]), "end": str(days[-1]),
            "commission": 0.0005, "direction": "both", **overrides}


@pytest.fixture(scope="module")
def stored(platform: Platform) -> dict:
    """A session of a workspace, and a backtest it ran (so stored): its body and answer."""
    assert wait_for(lambda: watchdog_status()["state"] == "connected", 60), watchdog_status()
    with httpx.Client(base_url=platform.base_url, headers=platform.auth_headers,
                      timeout=120) as http:
        token, workspace = initiate_in(http)
        body = _body()
        answer = http.post("/backtest/", json=body, headers=session_headers(token))
        assert answer.status_code == 200, answer.text
        return {"token": token, "workspace": workspace, "body": body, "answer": answer.json()}


def _get(http: httpx.Client, path: str, token: str) -> httpx.Response:
    return http.get(path, headers=session_headers(token))


def test_a_backtest_answers_its_run_id_and_the_run_is_listed_first(http, stored, feed_ready):
    answer = stored["answer"]
    assert RUN_ID_PATTERN.fullmatch(answer["run_id"])
    listed = _get(http, "/runs/", stored["token"])
    assert listed.status_code == 200, listed.text
    first = listed.json()["runs"][0]
    assert listed.json()["total"] >= 1
    assert first["run_id"] == answer["run_id"] and first["kind"] == "backtest"
    body = stored["body"]
    assert (first["strategy"], first["symbol"], first["interval"], first["start"],
            first["end"], first["rth"]) == ("sma_cross", "TSLA", "5m", body["start"],
                                            body["end"], True)
    assert first["params"] == answer["params"] and first["bars"] == answer["bars"]
    assert first["trades"] == len(answer["trades"]) > 0 and first["complete"] is True
    for name in ("total_return", "sharpe", "max_drawdown", "num_trades"):
        assert first["metrics"][name] == answer["metrics"][name]
    assert "equity" not in first and "result" not in first


def test_a_run_reopens_with_the_same_answer(http, stored):
    answer = stored["answer"]
    reopened = _get(http, f"/runs/{answer['run_id']}", stored["token"])
    assert reopened.status_code == 200, reopened.text
    record = reopened.json()
    assert record["run_id"] == answer["run_id"] and record["stored"] == {"complete": True}
    result = record["result"]
    assert result["metrics"] == answer["metrics"]
    assert result["trades"] == answer["trades"]
    assert result["equity"] == answer["equity"] and result["drawdown"] == answer["drawdown"]
    assert result["indicators"] == answer["indicators"]
    assert result["symbol"] == answer["symbol"] and "run_id" not in result
    # The request as /backtest took it: every field sent, the defaults of the rest.
    assert {k: record["request"][k] for k in stored["body"]} == stored["body"]
    assert record["request"]["initial_cash"] == 100_000
    assert record["summary"]["initial_cash"] == 100_000


def test_the_trades_csv_has_one_row_per_trade(http, stored):
    answer = stored["answer"]
    download = _get(http, f"/runs/{answer['run_id']}/trades.csv", stored["token"])
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("text/csv")
    assert download.headers["content-disposition"] == (
        f'attachment; filename="run-{answer["run_id"]}-trades.csv"')
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == len(answer["trades"])
    assert list(rows[0]) == list(answer["trades"][0])  # the trade's keys, in order
    for row, trade in zip(rows, answer["trades"], strict=True):
        assert row["entry_time"] == iso_utc(trade["entry_time"])
        assert row["exit_time"] == iso_utc(trade["exit_time"])
        assert (row["side"], row["exit_reason"]) == (trade["side"], trade["exit_reason"])
        assert float(row["pnl"]) == trade["pnl"] and int(row["bars"]) == trade["bars"]


def test_the_report_holds_metrics_curves_and_request(http, stored):
    answer = stored["answer"]
    download = _get(http, f"/runs/{answer['run_id']}/report.json", stored["token"])
    assert download.status_code == 200, download.text
    assert download.headers["content-disposition"] == (
        f'attachment; filename="run-{answer["run_id"]}-report.json"')
    report = download.json()
    assert report["metrics"] == answer["metrics"]
    assert report["equity"] == answer["equity"] and report["drawdown"] == answer["drawdown"]
    assert report["request"]["strategy"] == "sma_cross" and "trades" not in report


def test_runs_and_their_workspace_are_kept_runs_ttl_days(stored, redis_client: redis.Redis):
    run_id = stored["answer"]["run_id"]
    for key in (run_key(run_id), summary_key(run_id), index_key(stored["workspace"]),
                workspace_key(stored["workspace"])):
        assert RUNS_TTL_S - 120 < redis_client.ttl(key) <= RUNS_TTL_S, key
    assert redis_client.zscore(index_key(stored["workspace"]), run_id) is not None


def test_another_workspace_does_not_see_the_run(http, stored):
    run_id = stored["answer"]["run_id"]
    other, workspace = initiate_in(http)
    assert workspace != stored["workspace"]
    assert run_id not in [r["run_id"] for r in _get(http, "/runs/", other).json()["runs"]]
    for answer in (_get(http, f"/runs/{run_id}", other),
                   _get(http, f"/runs/{run_id}/trades.csv", other),
                   _get(http, f"/runs/{run_id}/report.json", other),
                   http.delete(f"/runs/{run_id}", headers=session_headers(other))):
        assert answer.status_code == 404, answer.text
        assert answer.json()["detail"][0]["field"] == "run_id"
    assert _get(http, f"/runs/{run_id}", stored["token"]).status_code == 200, "still there"


def test_a_new_session_of_the_workspace_keeps_its_runs(http, stored, redis_client):
    redis_client.delete(session_key(stored["token"]))  # the session expired
    assert _get(http, "/runs/", stored["token"]).status_code == 401
    token, workspace = initiate_in(http, stored["workspace"])
    assert workspace == stored["workspace"] and token != stored["token"]
    reopened = _get(http, f"/runs/{stored['answer']['run_id']}", token)
    assert reopened.status_code == 200
    assert reopened.json()["result"]["metrics"] == stored["answer"]["metrics"]
    stored["token"] = token  # the later tests go on in the new session


@pytest.mark.parametrize("run_id", ["short", "a" * 23, "bad*id*bad*id*bad*id**", "%2e%2e"])
def test_a_malformed_run_id_is_422_naming_it(http, stored, run_id):
    for answer in (_get(http, f"/runs/{run_id}", stored["token"]),
                   http.delete(f"/runs/{run_id}", headers=session_headers(stored["token"]))):
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["field"] == "run_id"


def test_the_session_header_is_needed(http, stored):
    run_id = stored["answer"]["run_id"]
    assert http.get(f"/runs/{run_id}").status_code == 422
    unknown = _get(http, f"/runs/{run_id}", "A" * 43)
    assert unknown.status_code == 401
    assert unknown.json()["detail"][0]["field"] == "X-Session-Token"


def test_a_run_is_deleted(http, stored, redis_client, feed_ready):
    token = stored["token"]
    answer = http.post("/backtest/", json=_body(params={"fast": 3, "slow": 12}),
                       headers=session_headers(token), timeout=120)
    assert answer.status_code == 200, answer.text
    run_id = answer.json()["run_id"]
    assert _get(http, "/runs/", token).json()["runs"][0]["run_id"] == run_id
    gone = http.delete(f"/runs/{run_id}", headers=session_headers(token))
    assert gone.status_code == 204 and gone.content == b""
    assert _get(http, f"/runs/{run_id}", token).status_code == 404
    assert http.delete(f"/runs/{run_id}", headers=session_headers(token)).status_code == 404
    assert run_id not in [r["run_id"] for r in _get(http, "/runs/", token).json()["runs"]]
    assert redis_client.exists(run_key(run_id), summary_key(run_id)) == 0
    assert _get(http, f"/runs/{stored['answer']['run_id']}", token).status_code == 200


def test_a_workspace_keeps_its_newest_runs(platform: Platform, redis_client):
    workspace = "W" * 43

    async def save_five() -> list[str]:
        client = make_client(platform.redis_url)
        store = RunStore(client, ttl_s=600, max_bytes=1 << 20, max_runs=3)
        ids = [await store.save(workspace, "backtest", {"start": "a", "end": "b"},
                                {"strategy": "x", "trades": [], "metrics": {}})
               for _ in range(5)]
        listed, total = await store.list(workspace, 10)
        await client.aclose()
        assert total == 3
        return ids, [entry["run_id"] for entry in listed]

    ids, listed = asyncio.run(save_five())
    assert listed == ids[:1:-1], "newest first, the two oldest dropped"
    assert redis_client.exists(*(run_key(i) for i in ids[:2])) == 0
    assert redis_client.exists(*(summary_key(i) for i in ids[:2])) == 0
    redis_client.delete(index_key(workspace), *(run_key(i) for i in ids),
                        *(summary_key(i) for i in ids), workspace_key(workspace))


def test_redis_outage_is_503_with_retry_after(http, platform: Platform, stored):
    token, run_id = stored["token"], stored["answer"]["run_id"]
    platform.redis_proxy.cut()
    try:
        for answer in (_get(http, "/runs/", token), _get(http, f"/runs/{run_id}", token),
                       http.post("/backtest/", json=_body(), headers=session_headers(token))):
            assert answer.status_code == 503, answer.text
            assert int(answer.headers["Retry-After"]) > 0
    finally:
        platform.redis_proxy.restore()
    assert wait_for(lambda: _get(http, "/runs/", token).status_code == 200, 15)
