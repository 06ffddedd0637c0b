"""schemathesis against every application's OpenAPI, over the real Serve proxy.

Every built-in check runs (the CLI's ``--checks all``), over the examples, coverage and
fuzzing phases, with a bounded number of fuzzed examples per operation. A live session's token
is fixed in every case (other fields still get negative values), as is an optimization's grid
(a generated object is almost never a valid grid), and the symbols, intervals
and dates are drawn mostly from values the simulator serves, so the cases reach 200 answers
as well as the 4xx paths. The one check given more room is ``positive_data_acceptance``: the
OpenAPI cannot state cross-field rules (``end`` after ``start``, a range within
``MAX_REQUEST_DAYS``, a grid within ``OPTIMIZE_MAX_COMBINATIONS``), which are 422s naming the
field, so 422 counts as an accepted answer there.
"""

from __future__ import annotations

import collections
import time

import httpx
import pytest
import schemathesis
from hypothesis import settings

from tests.conftest import Platform
from tests.support.feed_expectations import trading_days_back
from tests.support.launched_feed import watchdog_status
from tests.support.polling import wait_for
from tests.support.session_calls import SESSION_HEADER, initiate, session_headers

APPS = {"frontend": "", "sessions": "/utils/session", "historical": "/historical",
        "strategies": "/strategies", "backtest": "/backtest", "optimize": "/optimize",
        "data": "/data", "runs": "/runs"}
MAX_EXAMPLES = 15
REACHED: collections.Counter = collections.Counter()
CHECKS_RUN: set[str] = set()
HEARTBEAT_S = 10.0
_last_heartbeat = 0.0


def _config(access: dict[str, str], token: str, job_id: str, request_id: str,
            run_id: str) -> dict:
    days = [str(day) for day in trading_days_back(4, skip=10)]
    drawn = {"probability": 0.8}
    fields = {"symbol": "symbols", "interval": "intervals", "start": "days", "end": "days",
              "strategy": "strategies"}
    parameters: dict = {f"header.{SESSION_HEADER}": token, "path.job_id": job_id,
                        "path.run_id": run_id,
                        "query.request_id": request_id,
                        # A free-form object is almost never a valid grid; the grid's own
                        # 422s are tested in tests/unit/test_optimize_grid.py.
                        "body.grid": {"fast": [3, 5], "slow": [20]}}
    for place in ("query", "body"):
        for name, dictionary in fields.items():
            parameters[f"{place}.{name}"] = {"dictionary": dictionary, **drawn}
    return {
        "request-timeout": 30,
        "headers": access,
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True},
                   "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
        "generation": {"max-examples": MAX_EXAMPLES},
        "parameters": parameters,
        "dictionaries": {
            "symbols": {"values": ["TSLA", "AAPL"]},
            "intervals": {"values": ["5m", "15m", "1h"]},
            "days": {"values": days},
            "strategies": {"values": ["sma_cross", "rsi_reversion"]},
        },
        "checks": {"positive_data_acceptance": {"expected-statuses": [
            "2XX", "401", "404", "409", "422", "429", "503"]}},
    }


def _finished_job(http: httpx.Client, token: str) -> str:
    days = trading_days_back(2, skip=10)
    answer = http.post("/optimize", timeout=120, json={
        "strategy": "sma_cross", "symbol": "TSLA", "interval": "15m", "start": str(days[0]),
        "end": str(days[-1]), "grid": {"fast": [3, 5]}}, headers=session_headers(token))
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["job_id"]
    deadline = time.monotonic() + 120
    while http.get(f"/optimize/{job_id}", headers=session_headers(token)
                   ).json()["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, "the schema test's job did not finish"
        time.sleep(0.3)
    return job_id


def _run(http: httpx.Client, token: str) -> str:
    days = trading_days_back(2, skip=10)
    answer = http.post("/backtest", timeout=120, json={
        "strategy": "sma_cross", "symbol": "TSLA", "interval": "15m", "start": str(days[0]),
        "end": str(days[-1])}, headers=session_headers(token))
    assert answer.status_code == 200, answer.text
    return answer.json()["run_id"]


def _chart(http: httpx.Client, token: str) -> str:
    days = trading_days_back(2, skip=10)
    answer = http.get("/historical", timeout=120, params={
        "symbol": "TSLA", "interval": "5m", "start": str(days[0]), "end": str(days[-1])},
        headers=session_headers(token))
    assert answer.status_code == 200, answer.text
    return answer.json()["request_id"]


@pytest.fixture(scope="module")
def schema_session(platform: Platform) -> tuple[str, str, str, str]:
    """A live session, a finished optimization job, a chart request and a stored run of it."""
    assert wait_for(lambda: watchdog_status()["state"] == "connected", 60), watchdog_status()
    with httpx.Client(base_url=platform.base_url, headers=platform.auth_headers) as http:
        token = initiate(http)
        return token, _finished_job(http, token), _chart(http, token), _run(http, token)


@pytest.fixture(scope="module", params=sorted(APPS))
def api_schema(request: pytest.FixtureRequest, platform: Platform, schema_session):
    """One application's OpenAPI, checked against the application itself."""
    prefix = APPS[request.param]
    loaded = schemathesis.openapi.from_url(
        f"{platform.base_url}{prefix}/openapi.json",
        config=schemathesis.Config.from_dict(_config(platform.auth_headers, *schema_session)),
        wait_for_schema=30, headers=platform.auth_headers)
    loaded.config.update(base_url=f"{platform.base_url}{prefix}")

    @loaded.hook
    def after_validate(context, case, response, results) -> None:
        CHECKS_RUN.update(result.name for result in results)

    return loaded


# The event streams never end by themselves: a job's is tested in test_optimize_http.py (it
# streams until the job ends); the ``live`` application (/historical/stream), one endless
# stream, is not in APPS: its answers, 4xx included, are tested in tests/browser/test_live.py.
schema = schemathesis.pytest.from_fixture("api_schema").exclude(
    path_regex=r"/(events|stream)$")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None)
def test_every_operation_keeps_its_openapi(case, platform: Platform, schema_session) -> None:
    global _last_heartbeat
    if time.monotonic() - _last_heartbeat > HEARTBEAT_S:  # the run outlasts a test session
        httpx.post(f"{platform.base_url}/utils/session/heartbeat",
                   headers={**platform.auth_headers, **session_headers(schema_session[0])})
        _last_heartbeat = time.monotonic()
    response = case.call()
    base = case.operation.schema.get_base_url()
    REACHED[(base, case.operation.label, response.status_code)] += 1
    case.validate_response(response)


def test_the_run_reached_success_on_every_data_route_with_every_check() -> None:
    statuses: dict[tuple[str, str], set[int]] = collections.defaultdict(set)
    for base, label, status in REACHED:
        statuses[(base.rstrip("/").rsplit("/", 1)[-1], label)].add(status)
    succeeded = {key for key, seen in statuses.items() if any(200 <= s < 300 for s in seen)}
    for wanted in [("historical", "GET /"), ("historical", "GET /chunk"),
                   ("backtest", "POST /"), ("optimize", "POST /"),
                   ("optimize", "GET /{job_id}"), ("session", "POST /heartbeat"),
                   ("session", "GET /initiate"), ("runs", "GET /"), ("runs", "GET /{run_id}")]:
        assert wanted in succeeded, (wanted, statuses.get(wanted))
    assert {"not_a_server_error", "status_code_conformance", "response_schema_conformance",
            "content_type_conformance", "negative_data_rejection",
            "positive_data_acceptance", "unsupported_method"} <= CHECKS_RUN, CHECKS_RUN
