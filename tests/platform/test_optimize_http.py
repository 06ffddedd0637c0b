"""/optimize over real HTTP: jobs on the test's Ray cluster, state in the real Redis.

The swept metrics are checked against the kernels run here on the bars the simulator serves,
and the best row against POST /backtest for the same parameters.
"""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import orjson
import pytest
import ray
from ray.util.state import list_actors, list_tasks

from deployments.backtest.bar_context import base_bounds, session_ends
from deployments.common.http_app import ErrorBody
from deployments.optimize.result import walk_forward_segments
from deployments.optimize.scheduler import ACTOR_NAME as SCHEDULER
from deployments.sessions.store import SEEN_KEY, session_key
from kernels.backtest import METRICS, bar_context, pack_params, sweep_signals
from kernels.strategy_sweep import sweep_segments
from strategies.sma_cross import signals
from tests.support.feed_expectations import expected_arrays, trading_days_back
from tests.support.optimize_jobs import big_job_body as _big_body
from tests.support.optimize_jobs import chunk_tasks as _chunk_tasks
from tests.support.optimize_jobs import finish as _finish
from tests.support.optimize_jobs import job as _job
from tests.support.optimize_jobs import job_body as _body
from tests.support.optimize_jobs import rerun_after_failure
from tests.support.optimize_jobs import state_address as _state_address
from tests.support.optimize_jobs import submit as _submit
from tests.support.polling import wait_for
from tests.support.session_calls import initiate, initiate_in, session_headers


@pytest.fixture
def token(http) -> str:
    """A fresh session for each test, not the module's (the test sessions time out after a
    minute, and these tests wait for jobs)."""
    return initiate(http)


def test_job_sweeps_the_grid_and_its_best_equals_backtest(http, token, feed_ready):
    job_id = _submit(http, token, _body())
    job = _finish(http, job_id, token)
    assert job["status"] == "succeeded", job
    result = job["result"]
    combos = [(f, s) for f in (3, 5, 7, 9) for s in (12, 20, 30)]
    assert job["progress"] == {"done": len(combos), "total": len(combos)}
    assert job["device"] == "cpu" and result["placement"]["device"] == "cpu"

    t, o, h, l, c, v = expected_arrays("TSLA", trading_days_back(3, skip=10), 300)
    expected = sweep_segments(signals, (t, o, h, l, c, v),
                              [{"fast": f, "slow": s} for f, s in combos],
                              pack_params(0, False, 0.0005, 0, 0, 0, 0, 1.0, 100_000.0),
                              [(0, t.size)], sweep=sweep_signals)[0]
    surface = result["surface"]
    assert surface["names"] == ["fast", "slow"]
    assert surface["axes"] == {"fast": [3, 5, 7, 9], "slow": [12, 20, 30]}
    got = {(surface["axes"]["fast"][i], surface["axes"]["slow"][j]): value
           for (i, j), value in zip(surface["index"], surface["objective"], strict=True)}
    sharpe = METRICS.index("sharpe")
    for k, pair in enumerate(combos):
        assert got[pair] == pytest.approx(expected[k, sharpe], rel=1e-9)

    ranked = [row["metrics"]["sharpe"] for row in result["top"]]
    assert ranked == sorted(ranked, reverse=True) and len(ranked) == len(combos)
    best = result["best"]
    assert best == {key: result["top"][0][key] for key in ("params", "metrics", "plateau")}
    assert best["metrics"]["sharpe"] == pytest.approx(expected[:, sharpe].max(), rel=1e-12)

    same = {k: v for k, v in _body().items() if k not in ("grid", "min_trades")}
    backtest = http.post("/backtest/", json={**same, "params": best["params"]},
        headers=session_headers(token), timeout=120)
    assert backtest.status_code == 200, backtest.text
    # The backtest's metrics are a superset (trade statistics computed from its trades).
    assert {k: backtest.json()["metrics"][k] for k in best["metrics"]} == best["metrics"]


def test_walk_forward_picks_in_sample_and_scores_out_of_sample(http, token, feed_ready):
    body = _body(walk_forward={"splits": 3, "oos_fraction": 0.25}, objective="total_return")
    job = _finish(http, _submit(http, token, body), token)
    assert job["status"] == "succeeded", job
    splits = job["result"]["walk_forward"]
    assert [s["split"] for s in splits] == [1, 2, 3]

    bars = expected_arrays("TSLA", trading_days_back(3, skip=10), 300)
    t = bars[0]
    combos = [{"fast": f, "slow": s} for f in (3, 5, 7, 9) for s in (12, 20, 30)]
    params = pack_params(0, False, 0.0005, 0, 0, 0, 0, 1.0, 100_000.0)
    windows = walk_forward_segments(t.size, 3, 0.25)
    column = METRICS.index("total_return")
    for split, (inside, outside) in zip(splits, windows, strict=True):
        in_sample = sweep_segments(signals, bars, combos, params, [inside],
                                   sweep=sweep_signals)[0]
        best = int(np.argmax(in_sample[:, column]))
        assert split["params"] == combos[best]
        assert split["in_sample"] == {"start": int(t[inside[0]]), "end": int(t[inside[1] - 1]),
                                      "bars": inside[1] - inside[0]}
        assert split["out_of_sample"]["start"] == int(t[outside[0]])
        scored = sweep_segments(signals, bars, [combos[best]], params, [outside],
                                sweep=sweep_signals)[0, 0]
        assert split["out_of_sample_metrics"]["total_return"] == pytest.approx(
            scored[column], rel=1e-12)


def test_events_stream_progress_then_end(http, token, feed_ready):
    job_id = _submit(http, token, _body(grid={"fast": {"min": 2, "max": 40, "step": 1},
                                              "slow": {"min": 41, "max": 100, "step": 1}}))
    events = []
    with http.stream("GET", f"/optimize/{job_id}/events", headers=session_headers(token),
                     timeout=180) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in stream.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, orjson.loads(line[6:])))
    assert events[-1][0] == "end" and events[-1][1]["status"] == "succeeded"
    progress = [data for name, data in events if name == "progress"]
    done = [data["done"] for data in progress]
    assert done == sorted(done) and done[-1] == progress[-1]["total"] == 39 * 60
    assert _job(http, job_id, token)["status"] == "succeeded"


@pytest.mark.parametrize(("grid", "field", "says"), [
    ({"fast": [3, 5], "width": [1, 2]}, "grid.width", "unknown parameter"),
    ({"fast": {"min": 3, "max": 9, "step": 0}}, "grid.fast.step", "greater than 0"),
    ({"fast": {"min": 9, "max": 3, "step": 1}}, "grid.fast.max", ">= min"),
    ({"fast": {"min": 3, "max": 9}}, "grid.fast.step", "finite number"),
    ({"fast": [1, 5]}, "grid.fast", ">= 2"),
    ({"fast": [2.5]}, "grid.fast", "whole number"),
    ({"fast": []}, "grid.fast", "at least one"),
    ({"fast": "5"}, "grid.fast", "list of values"),
    ({"fast": [40, 50], "slow": [20, 30]}, "grid", "fast < slow"),
    ({}, "grid", "at least one parameter"),
    ({"fast": {"min": 2, "max": 500, "step": 1}, "slow": {"min": 3, "max": 2000, "step": 1}},
     "grid", "997002 combinations"),
])
def test_invalid_grids_are_refused_naming_the_field(http, token, grid, field, says):
    answer = http.post("/optimize/", json=_body(grid=grid), headers=session_headers(token))
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"][0]
    assert detail["field"] == field and says in detail["message"], detail


@pytest.mark.parametrize(("overrides", "field"), [
    ({"objective": "luck"}, "objective"),
    ({"strategy": "astrology"}, "strategy"),
    ({"top_n": 0}, "top_n"),
    ({"walk_forward": {"splits": 30, "oos_fraction": 0.1}, "interval": "1h"},
     "walk_forward.splits"),
    ({"walk_forward": {"splits": 2, "oos_fraction": 1.5}}, "walk_forward.oos_fraction"),
    ({"params": {"fast": 3}}, "params"),
    ({"interval": "7 parsecs"}, "interval"),
])
def test_invalid_requests_are_refused_naming_the_field(http, token, feed_ready, overrides,
                                                        field):
    answer = http.post("/optimize/", json=_body(**overrides), headers=session_headers(token),
                       timeout=60)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["field"] == field


def test_cancel_stops_the_chunk_tasks(http, token, feed_ready):
    job_id = _submit(http, token, _big_body())
    assert wait_for(lambda: _chunk_tasks(job_id, "RUNNING"), 120)
    answer = http.delete(f"/optimize/{job_id}", headers=session_headers(token))
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "cancelled"
    assert wait_for(lambda: not _chunk_tasks(job_id, "RUNNING")
                    and not _chunk_tasks(job_id, "PENDING_NODE_ASSIGNMENT"), 60)
    job = _job(http, job_id, token)
    assert job["status"] == "cancelled" and job["result"] is None
    assert job["progress"]["done"] < job["progress"]["total"]
    again = http.delete(f"/optimize/{job_id}", headers=session_headers(token))
    assert again.status_code == 409 and "cancelled" in again.json()["detail"][0]["message"]
    assert ErrorBody.model_validate(again.json()).error == "conflict"


def test_a_session_may_run_two_jobs_at_once(http, token, feed_ready):
    first, second = (_submit(http, token, _big_body()) for _ in range(2))
    third = http.post("/optimize/", json=_big_body(), headers=session_headers(token),
                      timeout=60)
    assert third.status_code == 429, third.text
    assert "at most 2" in third.json()["detail"][0]["message"] and third.headers["Retry-After"]
    assert ErrorBody.model_validate(third.json()).error == "too_many_requests"
    other = initiate(http)
    other_job = _submit(http, other, _body())  # the limit is per session
    for job_id in (first, second):
        http.delete(f"/optimize/{job_id}", headers=session_headers(token))
    assert _submit(http, token, _body())
    assert _finish(http, other_job, other)["status"] == "succeeded"


def test_unknown_and_other_sessions_jobs_are_404(http, token, feed_ready):
    job_id = _submit(http, token, _body())
    stranger = initiate(http)
    for path in (f"/optimize/{job_id}", f"/optimize/{job_id}/events"):
        assert http.get(path, headers=session_headers(stranger)).status_code == 404
    assert http.delete(f"/optimize/{job_id}", headers=session_headers(stranger)
                       ).status_code == 404
    for unknown in ("0123456789abcdef", "not-a-job", "..%2F..%2Fetc"):
        answer = http.get(f"/optimize/{unknown}", headers=session_headers(token))
        assert answer.status_code == 404, answer.text
    assert http.get(f"/optimize/{job_id}", headers=session_headers("x" * 43)).status_code == 401
    assert http.get(f"/optimize/{job_id}", headers=session_headers("short")).status_code == 422
    assert _finish(http, job_id, token)["status"] == "succeeded"  # the owner still sees it


def test_a_killed_chunk_worker_is_retried_and_the_result_is_the_same(http, token, feed_ready):
    body = _big_body()
    job_id = _submit(http, token, body)
    assert wait_for(lambda: _chunk_tasks(job_id, "RUNNING"), 120)
    victim = _chunk_tasks(job_id, "RUNNING")[0]
    os.kill(victim.worker_pid, signal.SIGKILL)
    killed = _finish(http, job_id, token)
    assert killed["status"] == "succeeded", killed
    # The state API lags: the worker may have moved on to the job's next chunk, so the
    # chunk that was killed is the one whose attempt failed; it ran again (task events
    # reach the state API in batches, hence the wait).
    assert wait_for(lambda: rerun_after_failure(_chunk_tasks(job_id)), 30), [
        (t.name, t.attempt_number, t.state) for t in _chunk_tasks(job_id)]

    again = _finish(http, _submit(http, token, body), token)
    assert again["status"] == "succeeded"
    assert killed["result"]["surface"] == again["result"]["surface"]
    assert killed["result"]["top"] == again["result"]["top"]


def _optimize_replicas() -> list:
    """The live replica actors of the optimize application."""
    return [actor for actor in list_actors(address=_state_address(), limit=10_000,
                                           filters=[("state", "=", "ALIVE")], detail=True)
            if actor.class_name == "ServeReplica:optimize:OptimizeIngress"]


def test_a_replica_restart_loses_no_job(http, token, feed_ready):
    job_id = _submit(http, token, _big_body())
    assert wait_for(lambda: _job(http, job_id, token)["status"] == "running", 120)
    (replica,) = _optimize_replicas()
    ray.kill(ray.get_actor(replica.name, namespace=replica.ray_namespace), no_restart=True)
    # Serve starts a new replica; until then the proxy answers 503, never a lost job.
    assert wait_for(lambda: {a.actor_id for a in _optimize_replicas()} - {replica.actor_id}, 120)
    assert wait_for(lambda: http.get(f"/optimize/{job_id}", headers=session_headers(token)
                                     ).status_code == 200, 120)
    job = _finish(http, job_id, token)
    assert job["status"] == "succeeded", job
    assert job["progress"]["done"] == job["progress"]["total"] == 79 * 160


def test_jobs_are_named_in_the_dashboard(http, token, feed_ready):
    job_id = _submit(http, token, _body())
    assert _finish(http, job_id, token)["status"] == "succeeded"
    # Task events reach the GCS in batches: wait for them.
    assert wait_for(lambda: list_tasks(address=_state_address(),
                                       filters=[("name", "=", f"optimize:{job_id}")]), 30)
    assert wait_for(lambda: _chunk_tasks(job_id), 30)
    actors = list_actors(address=_state_address(),
                         filters=[("name", "=", SCHEDULER), ("state", "=", "ALIVE")])
    assert len(actors) == 1


def test_a_job_with_the_order_model_and_base_bar_fills_equals_the_kernels(http, token,
                                                                         feed_ready):
    days = trading_days_back(3, skip=10)
    body = _body(stop_loss=0.003, take_profit=0.004, flat_at_close=True, intrabar="base_bars",
                 entry={"type": "stop", "offset": 0.0005, "valid_bars": 2},
                 sizing={"mode": "cash", "value": 40_000})
    job = _finish(http, _submit(http, token, body), token)
    assert job["status"] == "succeeded", job
    t, o, h, l, c, v = expected_arrays("TSLA", days, 300)
    base_t, base_o, base_h, base_l, _, _ = expected_arrays("TSLA", days, 1)
    context = bar_context(t.size, session_ends(t, "America/New_York"),
                          (base_bounds(t, int(base_t[-1]) + 1, base_t), base_o, base_h, base_l))
    combos = [{"fast": f, "slow": s} for f in (3, 5, 7, 9) for s in (12, 20, 30)]
    params = pack_params(0, False, 0.0005, 0, 0, 0.003, 0.004, 40_000, 100_000.0, entry_type=2,
                         entry_offset=0.0005, entry_valid_bars=2, flat_at_close=True,
                         sizing_mode=1)
    expected = sweep_segments(signals, (t, o, h, l, c, v), combos, params, [(0, t.size)],
                              sweep=sweep_signals, context=context)[0]
    rows = {tuple(row["params"].values()): row["metrics"] for row in job["result"]["top"]}
    resolved = METRICS.index("intrabar_resolved")
    for k, combo in enumerate(combos):
        got = rows[(combo["fast"], combo["slow"])]
        assert got["sharpe"] == pytest.approx(expected[k, METRICS.index("sharpe")], rel=1e-9)
        assert got["intrabar_resolved"] == expected[k, resolved]
    assert expected[:, resolved].max() > 0
    refused = http.post("/optimize/", json=_body(sizing={"mode": "risk", "value": 0.01}),
                        headers=session_headers(token))
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "sizing.mode"


def _floats(values: list) -> list[float]:
    """JSON numbers with null read back as NaN."""
    return [np.nan if value is None else value for value in values]


def test_robustness_figures_equal_the_kernels_and_formulas_by_hand(http, token, feed_ready):
    from scipy import stats

    from deployments.optimize.robustness import monte_carlo, neighbourhood
    from deployments.optimize.top_runs import trade_account_returns
    from kernels.backtest import simulate

    body = _body(min_trades=8, select="plateau", walk_forward={"splits": 2, "oos_fraction": 0.3},
                 monte_carlo={"paths": 400, "top": 2, "seed": 4})
    first = _finish(http, _submit(http, token, body), token)
    assert first["status"] == "succeeded", first
    result = first["result"]
    t, o, h, l, c, v = expected_arrays("TSLA", trading_days_back(3, skip=10), 300)
    combos = [{"fast": f, "slow": s} for f in (3, 5, 7, 9) for s in (12, 20, 30)]
    index = np.array([[f, s] for f in range(4) for s in range(3)])
    params = pack_params(0, False, 0.0005, 0, 0, 0, 0, 1.0, 100_000.0)
    whole = sweep_segments(signals, (t, o, h, l, c, v), combos, params, [(0, t.size)],
                           sweep=sweep_signals)[0]
    sharpe, trades = whole[:, METRICS.index("sharpe")], whole[:, METRICS.index("num_trades")]
    eligible = trades >= 8
    mean, _ = neighbourhood(index, np.where(eligible, sharpe, np.nan))
    ranked = [k for k in np.flatnonzero(eligible) if np.isfinite(mean[k])]
    best = max(ranked, key=lambda k: (mean[k], -k))
    assert 1 < len(ranked) < len(combos), "the threshold leaves some combinations out"
    assert result["best"]["params"] == combos[best]
    assert result["ranked"] == len(ranked) == len(result["top"])
    assert _floats(result["surface"]["plateau"]) == pytest.approx(mean.tolist(), nan_ok=True)
    # The deflated Sharpe ratio of the best, by hand from its per-bar returns and the trials.
    enter, leave = signals(o, h, l, c, None, **combos[best])
    equity, best_trades, _ = simulate(t, o, h, l, c, enter, leave, 0, False, 0.0005, 0, 0, 0,
                                      0, 1.0, 100_000.0)
    returns = equity / np.r_[100_000.0, equity[:-1]] - 1
    per_year = t.size / ((t[-1] - t[0]) / (365.25 * 86400))
    trials = sharpe / np.sqrt(per_year)
    sr = returns.mean() / returns.std(ddof=1)
    gamma, n = 0.5772156649015329, len(combos)
    sr0 = np.sqrt(np.var(trials, ddof=1)) * ((1 - gamma) * stats.norm.ppf(1 - 1 / n)
                                             + gamma * stats.norm.ppf(1 - 1 / (n * np.e)))
    z = (sr - sr0) * np.sqrt(t.size - 1) / np.sqrt(
        1 - stats.skew(returns) * sr + (stats.kurtosis(returns, fisher=False) - 1) / 4 * sr**2)
    assert result["trials"] == n
    assert result["deflated_sharpe"] == pytest.approx(stats.norm.cdf(z), rel=1e-6)
    # Monte Carlo bands: the best's trades resampled with the seed; a second job agrees.
    bands = result["monte_carlo"]
    assert [row["rank"] for row in bands] == [1, 2] and bands[0]["params"] == combos[best]
    expected = monte_carlo(trade_account_returns(best_trades, equity, 100_000.0), 400, 4)
    assert (bands[0]["paths"], bands[0]["trades"]) == (400, expected["trades"])
    for figure in ("final_return", "max_drawdown"):
        assert bands[0][figure] == pytest.approx(expected[figure], rel=1e-9)
    again = _finish(http, _submit(http, token, body), token)["result"]
    assert again["monte_carlo"] == bands
    # The walk-forward's stitched out-of-sample curve covers its out-of-sample bars.
    outside = [split["out_of_sample"] for split in result["walk_forward"]]
    assert len(result["walk_forward_equity"]["t"]) == sum(part["bars"] for part in outside)
    assert result["walk_forward_equity"]["t"][0] == outside[0]["start"]
    assert result["walk_forward_efficiency"] is None or np.isfinite(
        result["walk_forward_efficiency"])


def test_walk_forward_windows_too_small_to_trade_are_refused(http, token, feed_ready):
    answer = http.post("/optimize/", json=_body(walk_forward={"splits": 20, "oos_fraction": 0.9}),
                       headers=session_headers(token))
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"][0]
    assert detail["field"] == "walk_forward.splits" and "too small to trade" in detail["message"]


@pytest.mark.parametrize("method", ["random", "bayesian"])
def test_sampled_searches_honour_trials_constraints_and_seed(http, token, feed_ready, method):
    grid = {"fast": {"min": 2, "max": 30, "step": 1}, "slow": {"min": 10, "max": 60, "step": 2}}
    body = _body(grid=grid, search={"method": method, "trials": 40, "seed": 3})
    answer = http.post("/optimize/", json=body, headers=session_headers(token))
    assert answer.status_code == 202 and answer.json()["trials"] == 40
    first = _finish(http, answer.json()["job_id"], token)
    assert first["status"] == "succeeded" and first["progress"]["done"] == 40, first
    result = first["result"]
    assert result["search"]["method"] == method and result["search"]["evaluated"] == 40
    surface = result["surface"]
    combos = [{name: surface["axes"][name][i] for name, i in zip(surface["names"], row,
                                                                  strict=True)}
              for row in surface["index"]]
    assert len({tuple(c.values()) for c in combos}) == 40
    assert all(c["fast"] < c["slow"] for c in combos), "the constraint holds"
    t, o, h, l, c, v = expected_arrays("TSLA", trading_days_back(3, skip=10), 300)
    expected = sweep_segments(signals, (t, o, h, l, c, v), combos,
                              pack_params(0, False, 0.0005, 0, 0, 0, 0, 1.0, 100_000.0),
                              [(0, t.size)], sweep=sweep_signals)[0]
    assert _floats(surface["objective"]) == pytest.approx(
        expected[:, METRICS.index("sharpe")].tolist(), rel=1e-9, nan_ok=True)
    again = _finish(http, _submit(http, token, body), token)["result"]
    assert again["surface"]["index"] == surface["index"], "the same seed draws the same trials"
    refused = http.post("/optimize/", json=_body(search={"method": method, "trials": 10**7}),
                        headers=session_headers(token))
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["field"] == "search.trials"


def test_symbols_and_intervals_are_axes_of_the_surface(http, token, feed_ready):
    days = trading_days_back(3, skip=10)
    body = _body(symbols=["TSLA", "aapl"], intervals=["5m", "15m"], min_trades=3)
    answer = http.post("/optimize/", json=body, headers=session_headers(token))
    assert answer.status_code == 202, answer.text
    assert (answer.json()["combinations"], answer.json()["series"]) == (48, 4)
    job = _finish(http, answer.json()["job_id"], token)
    assert job["status"] == "succeeded", job
    result = job["result"]
    surface = result["surface"]
    assert surface["names"] == ["fast", "slow", "interval", "symbol"]
    assert surface["axes"]["interval"] == ["5m", "15m"]
    assert surface["axes"]["symbol"] == ["TSLA", "AAPL"]
    params = pack_params(0, False, 0.0005, 0, 0, 0, 0, 1.0, 100_000.0)
    sharpe = METRICS.index("sharpe")
    got = {tuple(surface["axes"][name][i] for name, i in zip(surface["names"], row,
                                                             strict=True)): value
           for row, value in zip(surface["index"], _floats(surface["objective"]), strict=True)}
    combos = [{"fast": f, "slow": s} for f in (3, 5, 7, 9) for s in (12, 20, 30)]
    for symbol in ("TSLA", "AAPL"):
        for interval, seconds in (("5m", 300), ("15m", 900)):
            bars = expected_arrays(symbol, days, seconds)
            expected = sweep_segments(signals, bars, combos, params, [(0, bars[0].size)],
                                      sweep=sweep_signals)[0]
            for k, combo in enumerate(combos):
                value = got[(combo["fast"], combo["slow"], interval, symbol)]
                assert value == pytest.approx(expected[k, sharpe], rel=1e-9, nan_ok=True)
    census = {row["symbol"]: row for row in result["census"]}
    assert set(census) == {"TSLA", "AAPL"}
    for symbol, row in census.items():
        assert row["combinations"] == 24
        if row["best"] is not None:
            assert row["best"]["params"]["symbol"] == symbol
            assert row["best"]["metrics"]["num_trades"] >= 3
    assert result["best"]["params"] == result["top"][0]["params"]
    backtest = http.post("/backtest/", json={
        **{k: v for k, v in _body().items() if k not in ("grid", "min_trades")},
        "symbol": result["best"]["params"]["symbol"],
        "interval": result["best"]["params"]["interval"],
        "params": {k: result["best"]["params"][k] for k in ("fast", "slow")}},
        headers=session_headers(token), timeout=120)
    assert backtest.json()["metrics"]["sharpe"] == pytest.approx(
        result["best"]["metrics"]["sharpe"], rel=1e-12)


@pytest.mark.parametrize(("overrides", "field"), [
    ({"symbols": ["TSLA", "??"]}, "symbols.1"),
    ({"intervals": ["5m", "7x"]}, "intervals.1"),
    ({"symbols": ["TSLA", "tsla"]}, "symbols.1"),
    ({"symbols": ["TSLA", "AAPL"], "walk_forward": {"splits": 2}}, "walk_forward"),
])
def test_bad_series_axes_are_refused_naming_the_element(http, token, overrides, field):
    answer = http.post("/optimize/", json=_body(**overrides), headers=session_headers(token))
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["field"] == field


def test_a_finished_job_is_stored_as_a_run_of_the_workspace(http, token, feed_ready):
    job = _finish(http, _submit(http, token, _body()), token)
    result = job["result"]
    run_id = result["run_id"]
    stored = http.get(f"/runs/{run_id}", headers=session_headers(token))
    assert stored.status_code == 200, stored.text
    record = stored.json()
    assert record["kind"] == "optimize" and record["request"]["grid"] == _body()["grid"]
    assert record["result"]["best"] == result["best"]
    assert record["summary"]["params"] == result["best"]["params"]
    listed = http.get("/runs/", headers=session_headers(token)).json()
    assert run_id in [run["run_id"] for run in listed["runs"]]


def test_a_job_outlives_its_session_and_any_session_of_its_workspace_follows_it(
        http, feed_ready, redis_client, platform):
    started, workspace = initiate_in(http)
    job_id = _submit(http, started, _big_body())
    # The session that started it ends (the janitor's sweep, as if its tab had been closed
    # for longer than the session timeout) while the job is queued or running.
    redis_client.zadd(SEEN_KEY, {started: time.time() - platform.session_timeout_s - 1})
    assert wait_for(lambda: redis_client.exists(session_key(started)) == 0, 30)
    assert http.get(f"/optimize/{job_id}", headers=session_headers(started)).status_code == 401
    # A later session of the same workspace (a reload after the timeout) follows it to its
    # end, and the finished job is a run of the workspace; another workspace does not see it.
    later, same = initiate_in(http, workspace)
    assert same == workspace
    other, _ = initiate_in(http)
    assert http.get(f"/optimize/{job_id}", headers=session_headers(other)).status_code == 404
    view = _finish(http, job_id, later, timeout_s=300)
    assert view["status"] == "succeeded", view
    run = http.get(f"/runs/{view['result']['run_id']}", headers=session_headers(later))
    assert run.status_code == 200 and run.json()["kind"] == "optimize"
    runs_ttl_s = int(platform.env.get("RUNS_TTL_DAYS", 30)) * 86400
    assert platform.session_timeout_s < redis_client.ttl(f"v1:optimize:job:{job_id}") <= runs_ttl_s
