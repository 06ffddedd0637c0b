"""The HTTP edge every ingress shares (make_api), exercised in-process over ASGI."""

from __future__ import annotations

import brotli
import httpx
import pytest
from fastapi.responses import StreamingResponse

from deployments.common.errors import (
    Conflict,
    FieldError,
    Gone,
    NotFound,
    ResultChanged,
    TooManyRequests,
    Unauthorized,
)
from deployments.common.http_app import ErrorBody, make_api
from deployments.common.middleware.compression import accepted_encodings
from deployments.common.middleware.trailing_slash import canonical

RAISED = {
    "/unauthorized": (Unauthorized("session expired", "session_token"), 401),
    "/missing": (NotFound("no such job", "job_id"), 404),
    "/conflict": (Conflict("already finished", "job_id"), 409),
    "/gone": (Gone("expired", "request_id"), 410),
    "/invalid": (FieldError("interval", "must look like 5m"), 422),
    "/limited": (TooManyRequests("2 jobs running", retry_after_s=9), 429),
    "/changed": (ResultChanged("result changed; retry"), 503),
}


def _raiser(error: Exception):
    async def fail() -> None:
        raise error

    return fail


def _app():
    api = make_api("Test", "The edge under test", errors=(401, 404, 409, 410, 422, 429, 503))
    api.state.retry_after_s = 4

    for path, (error, _) in RAISED.items():
        api.add_api_route(path, _raiser(error), name=path.strip("/"))

    @api.get("/")
    async def root() -> dict[str, str]:
        return {"at": "root"}

    @api.post("/items")
    async def items(count: int) -> dict[str, object]:
        return {"count": count, "padding": "x" * 4000}

    @api.get("/events")
    async def events() -> StreamingResponse:
        async def stream():
            yield b"data: " + b"y" * 3000 + b"\n\n"
        return StreamingResponse(stream(), media_type="text/event-stream")

    return api


@pytest.fixture
async def client():
    # root_path as Serve sets it for an application mounted at /test.
    transport = httpx.ASGITransport(app=_app(), root_path="/test")
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        yield http


@pytest.mark.parametrize("path", sorted(RAISED))
async def test_every_error_has_the_one_body(client, path):
    error, status = RAISED[path]
    answer = await client.get(f"/test{path}")
    assert answer.status_code == status
    body = ErrorBody.model_validate(answer.json())
    assert body.error == error.code
    assert [(d.field, d.message) for d in body.detail] == [(error.field, str(error))]


async def test_retry_after_from_the_error_or_the_settings(client):
    assert (await client.get("/test/limited")).headers["Retry-After"] == "9"
    assert (await client.get("/test/changed")).headers["Retry-After"] == "4"


async def test_framework_errors_share_the_body(client):
    missing = await client.get("/test/no/such/route")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong = await client.delete("/test/items")
    assert wrong.status_code == 405
    assert ErrorBody.model_validate(wrong.json()).error == "method_not_allowed"
    invalid = await client.post("/test/items", params={"count": "many"})
    assert invalid.status_code == 422
    assert invalid.json()["detail"][0]["field"] == "count"


@pytest.mark.parametrize("path", ["/test", "/test/"])
async def test_the_mount_point_answers_with_and_without_slash(client, path):
    answer = await client.get(path)
    assert answer.status_code == 200 and answer.json() == {"at": "root"}


@pytest.mark.parametrize("path", ["/test/items", "/test/items/"])
async def test_post_answers_with_and_without_slash_without_redirect(client, path):
    answer = await client.post(path, params={"count": 3})
    assert answer.status_code == 200 and answer.json()["count"] == 3


@pytest.mark.parametrize(("accept", "encoding"), [("br", "br"), ("gzip, br;q=0", "gzip"),
                                                   ("identity", None)])
async def test_large_json_is_compressed_as_accepted(client, accept, encoding):
    answer = await client.post("/test/items", params={"count": 1},
                               headers={"Accept-Encoding": accept})
    assert answer.headers.get("content-encoding") == encoding
    assert "Accept-Encoding" in answer.headers["vary"]
    assert answer.json()["count"] == 1  # httpx decodes br and gzip


async def test_brotli_body_is_real_brotli(client):
    async with client.stream("POST", "/test/items", params={"count": 2},
                             headers={"Accept-Encoding": "br"}) as answer:
        raw = b"".join([chunk async for chunk in answer.aiter_raw()])
    assert b'"count":2' in brotli.decompress(raw)


async def test_small_json_and_event_streams_are_not_compressed(client):
    small = await client.get("/test/", headers={"Accept-Encoding": "br"})
    assert "content-encoding" not in small.headers
    events = await client.get("/test/events", headers={"Accept-Encoding": "br, gzip"})
    assert "content-encoding" not in events.headers
    assert events.text.startswith("data: yyy")


def test_openapi_declares_the_error_body_for_every_operation():
    spec = _app().openapi()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status in ("401", "404", "409", "410", "422", "429", "503"):
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, method)
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_accept_encoding_parsing():
    assert accepted_encodings("gzip, br;q=0") == {"gzip"}
    assert accepted_encodings("BR;q=0.5, deflate") == {"br", "deflate"}
    assert accepted_encodings("") == set()


def test_canonical_route_paths():
    assert canonical("") == canonical("/") == "/"
    assert canonical("/chunk/") == "/chunk"
    assert canonical("/a/b") == "/a/b"


async def test_405_allows_every_method_and_a_bad_body_is_422():
    api = make_api("Test", "Two routes, one path")

    @api.get("/job")
    async def read() -> dict[str, str]:
        return {}

    @api.delete("/job")
    async def cancel() -> dict[str, str]:
        return {}

    @api.post("/body")
    async def body(item: dict[str, int]) -> dict[str, int]:
        return item

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api),
                                 base_url="http://app") as http:
        answer = await http.put("/job")
        undecodable = await http.post("/body", content=b"\xff\xfe",
                                      headers={"content-type": "application/json"})
    assert answer.status_code == 405
    assert set(answer.headers["allow"].split(", ")) == {"GET", "DELETE"}
    assert undecodable.status_code == 422  # not FastAPI's bare 400
    assert ErrorBody.model_validate(undecodable.json()).detail[0].field == "body"
