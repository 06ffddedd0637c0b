"""Sessions over real HTTP through the Serve proxy, against real Redis."""

from __future__ import annotations

import base64
import time

import httpx
import pytest
import redis

from deployments.sessions.store import SEEN_KEY, owned_keys_key, session_key
from deployments.sessions.workspaces import session_workspace_key, workspace_key
from tests.conftest import Platform
from tests.support.polling import wait_for
from tests.support.session_calls import (
    SESSION_HEADER,
    WORKSPACE_HEADER,
    heartbeat,
    initiate,
    initiate_in,
    register_keys,
)

RUNS_TTL_S = 30 * 86400  # RUNS_TTL_DAYS' default: the test platform does not set it


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
    "headers",
    [{}, {SESSION_HEADER: "12345"}, {SESSION_HEADER: ""}, {SESSION_HEADER: "short"},
     {SESSION_HEADER: "a" * 42 + "!"}, {SESSION_HEADER: "a" * 44},
     {SESSION_HEADER: "../" * 14 + "a"}],
)
def test_malformed_token_is_422_naming_the_header(http: httpx.Client, headers: dict):
    response = http.post("/utils/session/heartbeat", headers=headers)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert any(item["field"] == SESSION_HEADER and item["message"] for item in detail)


def test_a_token_in_the_query_or_body_is_not_accepted(http: httpx.Client):
    token = initiate(http)
    in_query = http.post("/utils/session/heartbeat", params={"session_token": token})
    in_body = http.post("/utils/session/heartbeat", json={"session_token": token})
    for answer in (in_query, in_body):
        assert answer.status_code == 422
        assert answer.json()["detail"][0]["field"] == SESSION_HEADER


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
    health = http.get("/health").json()  # from loopback: with the details
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


def _client_from(platform: Platform, address: str, **options) -> httpx.Client:
    """A client whose requests come from loopback ``address`` (a client address of its own)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=platform.base_url, transport=transport,
                        headers=platform.auth_headers, timeout=30, **options)


def test_initiate_is_rate_limited_per_client_address(platform: Platform):
    limit = int(platform.env["INITIATE_LIMIT"])
    with _client_from(platform, "127.0.0.2") as busy, _client_from(platform, "127.0.0.3") as calm:
        statuses = [busy.get("/utils/session/initiate").status_code for _ in range(limit + 1)]
        refused = busy.get("/utils/session/initiate")
        other = calm.get("/utils/session/initiate")
    assert statuses[:limit].count(200) >= limit - 5, "the window may roll over once"
    assert refused.status_code == 429, refused.text
    assert 1 <= int(refused.headers["Retry-After"]) <= float(platform.env["INITIATE_WINDOW_S"])
    assert refused.json()["error"] == "too_many_requests"
    assert other.status_code == 200, "the limit is per client address"


def test_live_sessions_are_capped(http: httpx.Client, platform: Platform,
                                 redis_client: redis.Redis):
    cap = int(platform.env["MAX_LIVE_SESSIONS"])
    live = redis_client.zcount(SEEN_KEY, time.time() - platform.session_timeout_s, "+inf")
    fillers = {f"cap-filler-{i:05d}": time.time() for i in range(max(0, cap - live))}
    try:
        if fillers:  # the sessions other clients hold, as the janitor counts them
            redis_client.zadd(SEEN_KEY, fillers)
        full = http.get("/utils/session/initiate")
        assert full.status_code == 503, full.text
        assert int(full.headers["Retry-After"]) > 0
        assert "live sessions" in full.json()["detail"][0]["message"]
    finally:
        if fillers:
            redis_client.zrem(SEEN_KEY, *fillers)
    assert http.get("/utils/session/initiate").status_code == 200


def test_initiate_issues_a_256_bit_workspace_the_session_owns(
    http: httpx.Client, platform: Platform, redis_client: redis.Redis
):
    answers = [http.get("/utils/session/initiate").json() for _ in range(20)]
    workspaces = [a["workspace"] for a in answers]
    assert len(set(workspaces)) == 20
    assert all(len(base64.urlsafe_b64decode(w + "=")) == 32 for w in workspaces)
    assert all(a["workspace_expires_in"] == RUNS_TTL_S for a in answers)
    token, workspace = answers[0]["session_token"], workspaces[0]
    assert workspace != token
    assert RUNS_TTL_S - 60 < redis_client.ttl(workspace_key(workspace)) <= RUNS_TTL_S
    pointer = session_workspace_key(token)
    assert redis_client.get(pointer).decode() == workspace
    assert redis_client.sismember(owned_keys_key(token), pointer)
    assert 0 < redis_client.ttl(pointer) <= platform.session_timeout_s


def test_a_known_workspace_is_kept_and_an_unknown_one_replaced(
    http: httpx.Client, redis_client: redis.Redis
):
    first, workspace = initiate_in(http)
    redis_client.expire(workspace_key(workspace), 1000)
    second, again = initiate_in(http, workspace)
    assert again == workspace and second != first
    assert redis_client.ttl(workspace_key(workspace)) > RUNS_TTL_S - 60, "its TTL restarts"
    assert redis_client.get(session_workspace_key(second)).decode() == workspace

    redis_client.delete(workspace_key(workspace))  # as RUNS_TTL_DAYS would
    _, fresh = initiate_in(http, workspace)
    assert fresh != workspace
    _, never = initiate_in(http, "Z" * 43)
    assert never != "Z" * 43 and redis_client.exists(workspace_key("Z" * 43)) == 0


@pytest.mark.parametrize("value", ["", "short", "a" * 44, "a" * 42 + "!", "../" * 14 + "a"])
def test_a_malformed_workspace_is_422_naming_the_header(http: httpx.Client, value: str):
    response = http.get("/utils/session/initiate", headers={WORKSPACE_HEADER: value})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == WORKSPACE_HEADER


def test_heartbeat_restarts_the_workspace_ttl_and_never_answers_it(
    http: httpx.Client, platform: Platform, redis_client: redis.Redis
):
    token, workspace = initiate_in(http)
    redis_client.expire(workspace_key(workspace), 1000)
    response = heartbeat(http, token)
    assert response.status_code == 200
    assert workspace not in response.text
    assert redis_client.ttl(workspace_key(workspace)) > RUNS_TTL_S - 60
    status = http.get("/utils/session/status")
    assert workspace not in status.text and token not in status.text


def test_the_janitor_drops_the_session_but_keeps_its_workspace(
    http: httpx.Client, platform: Platform, redis_client: redis.Redis
):
    token, workspace = initiate_in(http)
    redis_client.zadd(SEEN_KEY, {token: time.time() - platform.session_timeout_s - 1})
    assert wait_for(lambda: redis_client.exists(session_key(token)) == 0)
    assert redis_client.exists(session_workspace_key(token)) == 0
    assert redis_client.exists(workspace_key(workspace)) == 1
    assert initiate_in(http, workspace)[1] == workspace
