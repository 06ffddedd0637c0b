"""The one HTTP edge, over the real Serve proxy: slashes, compression and one error body."""

from __future__ import annotations

import brotli
import httpx
import pytest

from deployments.common.http_app import ErrorBody
from tests.conftest import Platform
from tests.support.feed_expectations import trading_days_back
from tests.support.session_calls import SESSION_HEADER, session_headers


def _backtest_body() -> dict:
    days = trading_days_back(2, skip=10)
    return {"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "symbol": "TSLA",
            "interval": "5m", "start": str(days[0]), "end": str(days[-1])}


@pytest.mark.parametrize("path", ["/strategies", "/strategies/", "/health", "/health/"])
def test_gets_answer_with_and_without_slash_without_redirect(http: httpx.Client, path: str):
    answer = http.get(path)
    assert answer.status_code == 200 and not answer.is_redirect


@pytest.mark.parametrize("path", ["/backtest", "/backtest/"])
def test_backtest_posts_without_slash_and_answers_brotli(http, token, feed_ready, path):
    with http.stream("POST", path, json=_backtest_body(), timeout=120,
                     headers={"Accept-Encoding": "br", **session_headers(token)}) as answer:
        raw = b"".join(answer.iter_raw())
    assert answer.status_code == 200, raw[:300]
    assert answer.headers["content-encoding"] == "br"
    assert b'"metrics"' in brotli.decompress(raw)


def test_optimize_posts_without_slash(http, token, feed_ready):
    body = {**_backtest_body(), "grid": {"fast": [3, 5]}}
    del body["params"]
    answer = http.post("/optimize", json=body, headers=session_headers(token), timeout=120)
    assert answer.status_code == 202, answer.text
    job = http.delete(f"/optimize/{answer.json()['job_id']}", headers=session_headers(token))
    assert job.status_code in (200, 409)


def test_401_404_422_and_503_share_one_body(http: httpx.Client, platform: Platform, token):
    unknown = "A" * 43
    answers = {
        401: http.get("/historical", params={"symbol": "TSLA", "interval": "5m",
                                             "start": "2026-01-05", "end": "2026-01-06"},
                      headers=session_headers(unknown)),
        404: http.get("/optimize/0123456789abcdef", headers=session_headers(token)),
        422: http.post("/backtest", json={"strategy": "sma_cross"}),
    }
    platform.redis_proxy.cut()
    try:
        answers[503] = http.get("/utils/session/initiate")
    finally:
        platform.redis_proxy.restore()
    for status, answer in answers.items():
        assert answer.status_code == status, answer.text
        body = ErrorBody.model_validate(answer.json())
        assert body.detail and all(d.message for d in body.detail)
    assert answers[503].headers["Retry-After"]
    assert answers[401].json()["detail"][0]["field"] == SESSION_HEADER
