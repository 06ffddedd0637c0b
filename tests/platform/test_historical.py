"""/historical and /historical/chunk over real HTTP, real Redis and the launched simulator."""

from __future__ import annotations

import asyncio
import time
from datetime import date

import httpx
import numpy as np
import pytest
import ray
import redis
from ray.util.state import list_tasks

from deployments import PLATFORM_NAMESPACE
from deployments.charts.bar_store import result_key
from deployments.charts.tiers import exchange_today
from deployments.iqfeed.feed_actor import ACTOR_NAME as FEED
from feeds.market_calendar import trading_days
from tests.support.feed_expectations import expected_bars, regular_minutes, trading_days_back
from tests.support.launched_feed import simulator_fault
from tests.support.polling import wait_for
from tests.support.session_calls import heartbeat, initiate, session_headers


def _feed_requests() -> int:
    feed = ray.get_actor(FEED, namespace=PLATFORM_NAMESPACE)
    return ray.get(feed.stats.remote())["requests"]


def _get(http: httpx.Client, token: str, **params) -> httpx.Response:
    return http.get("/historical/", params=params, headers=session_headers(token), timeout=120)


def test_minute_bars_equal_the_market(http, token, feed_ready):
    days = trading_days_back(3, skip=4)
    answer = _get(http, token, symbol="AAPL", interval="1m", start=str(days[0]),
                  end=str(days[-1]))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = np.concatenate([expected_bars("AAPL", d, 60, regular_hours=True).t.to_numpy()
                               for d in days])
    assert body["total"] == expected.size == regular_minutes(days)
    assert body["has_more"] is False
    assert body["bars"]["t"] == expected.tolist()
    assert body["timezone"] == "America/New_York"
    assert len(body["request_id"]) >= 16


def test_fifty_concurrent_cold_requests_fetch_each_day_once(platform, token, feed_ready):
    days = trading_days_back(2, skip=6)
    before = _feed_requests()
    params = {"symbol": "NFLX", "interval": "5m",
              "start": str(days[0]), "end": str(days[-1])}

    async def fifty() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=platform.base_url, timeout=120, headers={
                **platform.auth_headers, **session_headers(token)}) as client:
            return await asyncio.gather(*(client.get("/historical/", params=params)
                                          for _ in range(50)))

    answers = asyncio.run(fifty())
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers[:3]]
    bodies = [a.json() for a in answers]
    assert all(b["bars"] == bodies[0]["bars"] for b in bodies)
    # The same chart asked again by the same session keeps one request_id (and one record).
    assert len({b["request_id"] for b in bodies}) == 1
    assert _feed_requests() - before == len(days), "one feed fetch per symbol-day"


def test_interval_switch_after_preaggregation_is_a_cache_hit(http, token, platform, feed_ready):
    days = trading_days_back(2, skip=9)
    first = _get(http, token, symbol="AMD", interval="1m", start=str(days[0]), end=str(days[-1]))
    assert first.status_code == 200
    name = f"preaggregate:AMD:{days[0]}:{days[-1]}"
    assert wait_for(lambda: bool(list_tasks(filters=[("name", "=", name)])), 20), (
        "the pre-aggregation runs as a named Ray task")

    def ended() -> list:
        return [task for task in list_tasks(filters=[("name", "=", name)])
                if task.state in ("FINISHED", "FAILED")]

    def ended_keeping_the_session() -> bool:
        # The wait can outlast the test sessions' 60 s timeout: the module's session is kept.
        assert heartbeat(http, token).status_code == 200
        return bool(ended())

    # Liveness only: on a loaded 2-core machine the task may queue behind earlier tests' tasks.
    assert wait_for(ended_keeping_the_session, 180), list_tasks(filters=[("name", "=", name)])
    assert ended()[0].state == "FINISHED", ended()[0]
    store = redis.Redis.from_url(platform.redis_url)
    assert store.keys(result_key("AMD", True, "15m", "*", "*"))
    before = _feed_requests()
    switched = _get(http, token, symbol="AMD", interval="15m", start=str(days[0]),
                    end=str(days[-1]))
    assert switched.status_code == 200 and switched.json()["total"] == 2 * 26
    assert _feed_requests() == before


def test_chunks_walk_back_to_the_first_bar_without_gap_or_overlap(http, token, feed_ready):
    days = trading_days_back(15, skip=2)
    first = _get(http, token, symbol="MSFT", interval="1m", start=str(days[0]),
                 end=str(days[-1]))
    body = first.json()
    assert body["total"] == regular_minutes(days) and body["has_more"] is True
    assert len(body["bars"]["t"]) == 5000
    held = body["bars"]["t"]
    while body["has_more"]:
        body = http.get("/historical/chunk", params={
            "request_id": first.json()["request_id"], "before": held[0], "limit": 400,
        }, headers=session_headers(token)).json()
        assert body["bars"]["t"][-1] < held[0]
        held = body["bars"]["t"] + held
    expected = np.concatenate([expected_bars("MSFT", d, 60, regular_hours=True).t.to_numpy()
                               for d in days])
    assert held == expected.tolist()


def test_dst_fall_back_week_shows_ascending_exchange_times(http, token, feed_ready):
    answer = _get(http, token, symbol="SPY", interval="30m", start="2026-10-29", end="2026-11-03")
    body = answer.json()
    t = np.array(body["bars"]["t"])
    offsets = np.array(body["tz_offsets"])
    local = t + offsets[np.searchsorted(offsets[:, 0], t, side="right") - 1, 1]
    assert np.all(np.diff(local) > 0)
    day_opens = local[np.r_[True, np.diff(local) > 3600 * 12]] % 86400
    assert set(day_opens.tolist()) == {9 * 3600 + 1800}, "every session opens at 09:30 local"
    assert {int(o) for o in offsets[:, 1]} == {-4 * 3600, -5 * 3600}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"interval": "7x"}, "interval"),
        ({"interval": "25h"}, "interval"),
        ({"start": "2026-11-10", "end": "2026-11-02"}, "end"),
        ({"start": "2024-01-01", "end": "2026-01-01"}, "end"),
        ({"start": "2026-01-02", "end": "2026-06-30", "interval": "5s"}, "interval"),
        ({"symbol": "SPY;DROP"}, "symbol"),
        ({"start": "yesterday"}, "start"),
        ({"start": "2099-01-02", "end": "2099-01-03"}, "start"),
        ({"rth": "maybe"}, "rth"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(http, token, params, field):
    query = {"symbol": "SPY", "interval": "1m", "start": "2026-11-02", "end": "2026-11-03",
             **params}
    answer = _get(http, token, **query)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["field"] == field


def test_sessions_are_required(http):
    query = {"symbol": "SPY", "interval": "1m", "start": "2026-11-02", "end": "2026-11-03"}
    assert _get(http, "A" * 43, **query).status_code == 401
    assert _get(http, "nope", **query).status_code == 422


def test_unknown_symbol_is_404(http, token, feed_ready):
    answer = _get(http, token, symbol="NOSUCH", interval="1m", start=str(trading_days_back(1)[0]),
                  end=str(trading_days_back(1)[0]))
    assert answer.status_code == 404
    assert answer.json()["detail"][0]["field"] == "symbol"


def test_feed_down_is_503_with_retry_after(http, token, platform, feed_ready):
    with simulator_fault(int(platform.env["IQFEED_ADMIN_PORT"]), "REFUSE"):
        day = trading_days_back(1, skip=12)[0]
        answer = _get(http, token, symbol="KO", interval="1m", start=str(day), end=str(day))
        assert answer.status_code == 503
        assert int(answer.headers["Retry-After"]) > 0
        assert "traceback" not in answer.text.lower()


def test_chunk_of_another_session_is_404_and_expired_is_410(http, token, platform, feed_ready):
    day = trading_days_back(1, skip=3)[0]
    answer = _get(http, token, symbol="JPM", interval="1m", start=str(day), end=str(day)).json()
    other = initiate(http)
    params = {"request_id": answer["request_id"], "before": answer["bars"]["t"][-1]}
    assert http.get("/historical/chunk", params=params, headers=session_headers(other)
                    ).status_code == 404
    assert http.get("/historical/chunk", params={**params, "request_id": "x" * 16},
                    headers=session_headers(token)).status_code == 404
    ok = http.get("/historical/chunk", params=params, headers=session_headers(token))
    assert ok.status_code == 200 and len(ok.json()["bars"]["t"]) == regular_minutes([day]) - 1
    store = redis.Redis.from_url(platform.redis_url)
    for key in store.scan_iter(match=result_key("JPM", True, "1m", "*", "*")):
        store.delete(key)
    gone = http.get("/historical/chunk", params=params, headers=session_headers(token))
    assert gone.status_code == 410 and "reload" in gone.json()["detail"][0]["message"]


def test_answers_are_compressed_when_accepted(http, token, feed_ready):
    day = trading_days_back(1, skip=5)[0]
    query = {"symbol": "XOM", "interval": "1m", "start": str(day), "end": str(day)}
    for encoding in ("br", "gzip"):
        answer = http.get("/historical/", params=query,
                          headers={"Accept-Encoding": encoding, **session_headers(token)})
        assert answer.headers["content-encoding"] == encoding
        assert len(answer.json()["bars"]["t"]) == regular_minutes([day])


def test_redis_restart_mid_run_fails_fast_then_answers(http, token, platform, feed_ready):
    day = trading_days_back(1, skip=7)[0]
    query = {"symbol": "BA", "interval": "5m", "start": str(day), "end": str(day)}
    assert _get(http, token, **query).status_code == 200
    platform.redis_proxy.cut()
    try:
        started = time.monotonic()
        down = _get(http, token, **query)
        assert down.status_code == 503 and int(down.headers["Retry-After"]) > 0
        assert time.monotonic() - started < 15, "a hang guard, not a speed check"
    finally:
        platform.redis_proxy.restore()
    assert wait_for(lambda: _get(http, token, **query).status_code == 200, 15)
    assert _get(http, token, **query).json()["total"] == 78


def test_chart_including_today_pages_from_its_own_snapshot(http, token, platform, feed_ready):
    today = exchange_today()
    first_day = trading_days_back(2, skip=1)[0]
    answer = _get(http, token, symbol="DIA", interval="1m", start=str(first_day),
                  end=str(today)).json()
    assert answer["total"] > 0
    store = redis.Redis.from_url(platform.redis_url)
    for key in store.scan_iter(match=result_key("DIA", True, "1m", "*", "*")):
        store.delete(key)  # what TODAY_CACHE_TTL_S does to the shared result after a minute
    page = http.get("/historical/chunk", params={
        "request_id": answer["request_id"], "before": answer["bars"]["t"][-1], "limit": 10},
        headers=session_headers(token))
    assert page.status_code == 200 and len(page.json()["bars"]["t"]) == 10


def test_old_ranges_use_minute_bars_and_refuse_second_intervals(http, token, feed_ready):
    days = trading_days(date(2025, 3, 3), date(2025, 3, 7))
    answer = _get(http, token, symbol="QQQ", interval="5m", start=str(days[0]),
                  end=str(days[-1]))
    assert answer.status_code == 200 and answer.json()["total"] == 5 * 78
    refused = _get(http, token, symbol="QQQ", interval="5s", start=str(days[0]),
                   end=str(days[-1]))
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "interval"


def test_daily_and_weekly_bars(http, token, feed_ready):
    days = trading_days(date(2025, 1, 2), date(2025, 3, 28))
    daily = _get(http, token, symbol="KO", interval="1d", start=str(days[0]),
                 end=str(days[-1])).json()
    assert daily["total"] == len(days)
    weekly = _get(http, token, symbol="KO", interval="1w", start=str(days[0]),
                  end=str(days[-1])).json()
    assert weekly["total"] == len({d.isocalendar()[:2] for d in days})
    assert sum(weekly["bars"]["v"]) == sum(daily["bars"]["v"])
    assert max(weekly["bars"]["h"]) == max(daily["bars"]["h"])


def test_extended_hours_add_pre_and_post_market(http, token, feed_ready):
    day = trading_days_back(1, skip=8)[0]
    query = {"symbol": "SPY", "interval": "1h", "start": str(day), "end": str(day)}
    regular = _get(http, token, **query).json()
    extended = _get(http, token, rth="false", **query).json()
    assert regular["total"] == 7  # 09:30 ... 15:30
    assert extended["total"] == 17  # 03:30 (from 04:00) ... 19:30
    assert set(regular["bars"]["t"]) < set(extended["bars"]["t"])


def test_dates_out_of_range_are_422(http, token):
    answer = _get(http, token, symbol="SPY", interval="1d", start="2024-01-02",
                  end="9999-12-31")
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "end"
