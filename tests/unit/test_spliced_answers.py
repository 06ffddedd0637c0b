"""A chart answer's head encoded and compressed once, finished per session with its request_id."""

from __future__ import annotations

import gzip

import brotli
import httpx
import numpy as np
import orjson
import pytest

from deployments.charts.answer_cache import AnswerCache, head, tail
from deployments.charts.payload import chart_payload
from deployments.common.http_app import make_api
from deployments.common.json_response import SplicedJSONResponse
from deployments.common.middleware.compression import MIN_COMPRESS_BYTES, SplicedBody
from feeds.bars import Bars

HEAD = b'{"x":[' + b",".join(str(i * 1.01).encode() for i in range(20_000))


def _decoded(body: bytes, encoding: str | None) -> bytes:
    if encoding == "br":
        return brotli.decompress(body)
    if encoding == "gzip":
        return gzip.decompress(body)
    return body


@pytest.mark.parametrize("encodings", [{"br"}, {"gzip"}, {"br", "gzip"}, set()])
@pytest.mark.parametrize("size", [0, 1, 40, 65_535, 65_536, 65_537, 200_000])
def test_spliced_bodies_decode_to_head_and_tail(encodings, size):
    spliced = SplicedBody(HEAD)
    end = bytes(np.random.default_rng(size).integers(32, 127, size, dtype=np.uint8)) + b"]}"
    body, encoding = spliced.finish(end, encodings)
    assert encoding == ("br" if "br" in encodings else "gzip" if encodings else None)
    assert _decoded(body, encoding) == HEAD + end


def test_the_same_head_takes_many_tails():
    spliced = SplicedBody(HEAD)
    for n in range(5):
        for encoding in ("br", "gzip"):
            body, used = spliced.finish(f'],"n":{n}}}'.encode(), {encoding})
            assert orjson.loads(_decoded(body, used))["n"] == n


def test_small_bodies_stay_uncompressed():
    spliced = SplicedBody(b'{"a":1')
    assert spliced.finish(b"}", {"br", "gzip"}) == (b'{"a":1}', None)
    assert len(b'{"a":1}') < MIN_COMPRESS_BYTES


def _bars(n: int) -> Bars:
    t = 1_700_000_000 + 60 * np.arange(n, dtype=np.int64)
    c = 100 + np.cumsum(np.random.default_rng(0).normal(0, 0.05, n)).round(2)
    return Bars(t, c, c + 0.25, c - 0.25, c, np.full(n, 300.0))


def test_head_and_tail_hold_exactly_the_payload_with_its_request_id():
    bars = _bars(3000)
    fields = {"symbol": "SPY", "interval": "1m", "rth": True, "total": 9000, "has_more": True}
    whole = orjson.loads(orjson.dumps(chart_payload(bars, request_id="r" * 16, **fields),
                                      option=orjson.OPT_SERIALIZE_NUMPY))
    assert orjson.loads(head(chart_payload(bars, **fields)) + tail("r" * 16)) == whole


def test_the_cache_reuses_a_head_only_for_the_same_page():
    cache = AnswerCache(entries=2)
    built = []

    def build(label: str):
        return lambda: built.append(label) or head({"label": label})

    first = cache.body("a", 10, [b"1", b"2"], build("a1"))
    assert cache.body("a", 10, [b"1", b"2"], build("again")) is first
    assert cache.body("a", 11, [b"1", b"2"], build("more rows")) is not first
    assert cache.body("a", 11, [b"1", b"3"], build("new bytes")).head == b'{"label":"new bytes"'
    cache.body("b", 1, [], build("b"))
    cache.body("c", 1, [], build("c"))  # evicts "a", the least recently used
    cache.body("a", 11, [b"1", b"3"], build("a again"))
    assert built == ["a1", "more rows", "new bytes", "b", "c", "a again"]


@pytest.fixture
async def client():
    api = make_api("Test", "Spliced answers", errors=())
    spliced = SplicedBody(HEAD)

    @api.get("/")
    async def root() -> SplicedJSONResponse:
        return SplicedJSONResponse(spliced, b'],"request_id":"abc"}')

    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        yield http


@pytest.mark.parametrize(("accept", "encoding"),
                         [("br, gzip", "br"), ("gzip", "gzip"), ("identity", None)])
async def test_a_spliced_answer_is_sent_once_in_the_accepted_encoding(client, accept, encoding):
    answer = await client.get("/", headers={"Accept-Encoding": accept})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers.get("content-encoding") == encoding
    assert "accept-encoding" in answer.headers["vary"].lower()
    if encoding is None:
        assert int(answer.headers["content-length"]) == len(answer.content)
    assert answer.json()["request_id"] == "abc"
    assert len(answer.json()["x"]) == 20_000
