"""Sessions over real HTTP through the Serve proxy, against real Redis."""

from __future__ import annotations

import base64
import time

import httpx
import pytest
import redis

from deployments.sessions.store import SEEN_KEY, owned_keys_key, session_key
from tests.conftest import Platform
from tests.support.polling import wait_for
from tests.support.session_calls import heartbeat, initiate, register_keys


def test_tokens_are_unique_and_carry_256_random_bits(http: httpx.Client, platform: Platform):
    answers = [http.get("/utils/session/initiate").json() for _ in range(200)]
    tokens = [a["session_token"] for a in answers]
    assert len(set(tokens)) == len(tokens)
    assert all(a["expires_in"] == platform.session_timeout_s for a in answers)
    raw = [base64.urlsafe_b64decode(t + "=") for t in tokens]
    assert all(len(r) == 32 for r in raw)
    ones = sum(bin(byte).count("1") for r in raw for byte in r)
    # 51,200 fair coin flips: 0.5 +- 0.01 is beyond 4 standard deviations.
    assert abs(ones / (len(raw) * 256) - 0.5) < 0.01
    first_bytes = {r[0] for r in raw}
    assert len(first_bytes) > 100  # not a counter or timestamp prefix


def test_heartbeat_extends_session_and_owned_keys(
    http: httpx.Client, platform: Platform, redis_client: redis.Redis
):
    token = initiate(http)
    owned = f"v1:test:owned:{token}"
    register_keys(platform.redis_url, platform.session_timeout_s, token, [owned])
    assert redis_client.ttl(session_key(token)) > platform.session_timeout_s - 2
    time.sleep(2.5)
    assert redis_client.ttl(session_key(token)) <= platform.session_timeout_s - 2
    assert redis_client.ttl(owned) <= platform.session_timeout_s - 2
    before = redis_client.zscore(SEEN_KEY, token)

    response = heartbeat(http, token)

    assert response.status_code == 200
    assert response.json() == {"session_token": token, "expires_in": platform.session_timeout_s}
    assert redis_client.ttl(session_key(token)) >= platform.session_timeout_s - 1
    assert redis_client.ttl(owned) >= platform.session_timeout_s - 1
    assert redis_client.zscore(SEEN_KEY, token) > before


def test_every_session_key_has_a_ttl_as_safety_net(
    http: httpx.Client, platform: Platform, redis_client: redis.Redis
):
    token = initiate(http)
    owned = f"v1:test:ttl:{token}"
    register_keys(platform.redis_url, platform.session_timeout_s, token, [owned])
    for key in (session_key(token), owned_keys_key(token), owned):
        assert 0 < redis_client.ttl(key) <= platform.session_timeout_s


def test_janitor_deletes_expired_sessions_and_their_keys(
    http: httpx.Client, platform: Platform, redis_client: redis.Redis
):
    stale, alive = initiate(http), initiate(http)
    stale_keys = [f"v1:test:stale:{stale}:{i}" for i in range(3)]
    alive_keys = [f"v1:test:alive:{alive}:{i}" for i in range(3)]
    register_keys(platform.redis_url, platform.session_timeout_s, stale, stale_keys)
    register_keys(platform.redis_url, platform.session_timeout_s, alive, alive_keys)
    live_before = http.get("/utils/session/status").json()["live_sessions"]

    # The stale session's last heartbeat moves to just past the timeout, as if the browser
    # tab had been closed that long ago.
    redis_client.zadd(SEEN_KEY, {stale: time.time() - platform.session_timeout_s - 1})

    assert wait_for(lambda: redis_client.exists(session_key(stale), *stale_keys) == 0)
    assert redis_client.exists(owned_keys_key(stale)) == 0
    assert redis_client.zscore(SEEN_KEY, stale) is None
    assert redis_client.exists(session_key(alive), *alive_keys) == 1 + len(alive_keys)
    assert heartbeat(http, stale).status_code == 404
    assert heartbeat(http, alive).status_code == 200
    assert http.get("/utils/session/status").json()["live_sessions"] <= live_before - 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "session_token"),
        ({"session_token": 12345}, "session_token"),
        ({"session_token": ""}, "session_token"),
        ({"session_token": "short"}, "session_token"),
        ({"session_token": "a" * 42 + "!"}, "session_token"),
        ({"session_token": "a" * 44}, "session_token"),
        ({"session_token": "../" * 14 + "a"}, "session_token"),
    ],
)
def test_malformed_token_is_422_naming_the_field(http: httpx.Client, body: dict, field: str):
    response = http.post("/utils/session/heartbeat", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert any(item["field"] == field and item["message"] for item in detail)


def test_heartbeat_without_json_body_is_422(http: httpx.Client):
    response = http.post(
        "/utils/session/heartbeat", content=b"not json", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"


def test_unknown_token_is_404(http: httpx.Client):
    response = heartbeat(http, "A" * 43)
    assert response.status_code == 404
    assert "initiate" in response.json()["detail"][0]["message"]


def test_live_session_count_is_reported(http: httpx.Client, platform: Platform,
                                        redis_client: redis.Redis):
    # Sessions of earlier tests expire meanwhile: count only those live for 10 s more.
    staying = time.time() - platform.session_timeout_s + 10
    before = redis_client.zcount(SEEN_KEY, staying, "+inf")
    for _ in range(3):
        initiate(http)
    assert http.get("/utils/session/status").json()["live_sessions"] >= before + 3
    health = http.get("/health").json()
    assert health["sessions"]["live"] >= before + 3


def test_redis_outage_gives_503_for_state_and_keeps_static_pages(
    http: httpx.Client, platform: Platform
):
    survivor = initiate(http)
    platform.redis_proxy.cut()
    try:
        for call in (
            lambda: http.get("/utils/session/initiate"),
            lambda: heartbeat(http, survivor),
            lambda: http.get("/utils/session/status"),
        ):
            started = time.monotonic()
            response = call()
            assert response.status_code == 503, response.text
            assert int(response.headers["Retry-After"]) > 0
            # A hang guard, not a speed check: Redis calls give up after ~4 s by design.
            assert time.monotonic() - started < 15, "an outage must not hang a request"
        page = http.get("/")
        assert page.status_code == 200 and "<html" in page.text
        health = http.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] == "degraded"
        assert health.json()["redis"]["reachable"] is False
    finally:
        platform.redis_proxy.restore()
    assert wait_for(lambda: http.get("/utils/session/initiate").status_code == 200, 15)
    assert heartbeat(http, survivor).status_code == 200, "the outage must not lose sessions"
