"""The JSON error answers every Serve application installs (mapped in-process over ASGI)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from deployments.common.errors import StateUnavailable
from deployments.common.http_app import install_error_handlers
from feeds.iqfeed import FeedTimeout, FeedUnavailable, SymbolNotFound

RAISES = {
    "/symbol": SymbolNotFound("unknown symbol: ZZZZ"),
    "/feed-down": FeedUnavailable("IQFeed not reachable at 127.0.0.1:9100"),
    "/feed-slow": FeedTimeout("no complete answer within 30 s"),
    "/redis-down": StateUnavailable("Redis unavailable: ConnectionError"),
}


def _raiser(error: Exception):
    async def fail() -> None:
        raise error

    return fail


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.retry_after_s = 7
    for path, error in RAISES.items():
        app.add_api_route(path, _raiser(error))

    @app.get("/needs-int")
    async def needs_int(count: int) -> dict[str, int]:
        return {"count": count}

    return app


@pytest.fixture
async def client():
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        yield http


async def test_unknown_symbol_is_404_naming_the_field(client):
    response = await client.get("/symbol")
    assert response.status_code == 404
    assert response.json()["detail"][0]["field"] == "symbol"


@pytest.mark.parametrize("path", ["/feed-down", "/feed-slow", "/redis-down"])
async def test_outages_are_503_with_retry_after(client, path):
    response = await client.get(path)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"


async def test_bad_query_parameter_is_422_naming_it(client):
    response = await client.get("/needs-int", params={"count": "many"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "count"
