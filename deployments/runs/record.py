"""A run's record: what a stored backtest (later: optimization) holds, and the bytes kept of it.

A record is ``{run_id, kind, created, request, summary, result, stored}``: ``request`` the body
the run took, ``result`` its whole answer, ``summary`` the few fields a list of runs shows and
``stored`` what, if anything, was thinned to keep the record under ``RUN_MAX_BYTES``
(:func:`fit_record`). Pure computation (orjson, zlib, NumPy): no Ray, Redis or web framework.

    >>> record = new_record("backtest", {"strategy": "sma_cross", "start": "2026-11-02",
    ...     "end": "2026-11-06"}, {"strategy": "sma_cross", "symbol": "TSLA",
    ...     "interval": "5m", "params": {"fast": 5}, "bars": 3, "metrics": {}, "trades": []})
    >>> data, stored = fit_record(record, 1 << 20)
    >>> decode_record(data) == record, stored
    (True, {'complete': True})
"""

from __future__ import annotations

import re
import secrets
import time
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson

RUN_ID_BYTES = 16
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22}$")
"""A run id is 16 random bytes in URL-safe base64 without padding: 22 characters."""
KINDS = ("backtest", "optimize")
HEADLINE_METRICS = ("total_return", "cagr", "sharpe", "sortino", "max_drawdown",
                    "num_trades", "win_rate", "profit_factor", "exposure")
"""The metrics a list of runs shows (the record keeps all of them)."""
CHART_FIELDS = ("symbol", "interval", "start", "end", "rth")
ZLIB_LEVEL = 1
"""Fast: a backtest's answer waits for its record (float text compresses ~3x even so)."""
MIN_CURVE_POINTS = 500
"""Curves are never thinned below this many points; trades go first then."""
_JSON = orjson.OPT_SERIALIZE_NUMPY


def new_run_id() -> str:
    """A fresh, unguessable run id (22 URL-safe characters)."""
    return secrets.token_urlsafe(RUN_ID_BYTES)


def summarize(request: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """The fields a list of runs shows: strategy, chart, parameters, sizes, headline metrics."""
    best = result.get("best") or {}  # an optimization: its best row
    metrics = result.get("metrics") or best.get("metrics") or {}
    chart = {name: result.get(name, request.get(name)) for name in CHART_FIELDS}
    return {
        "strategy": result.get("strategy", request.get("strategy")), **chart,
        "params": result.get("params", request.get("params", best.get("params"))),
        "initial_cash": request.get("initial_cash"),
        "bars": result.get("bars"), "trades": len(result.get("trades") or ()),
        "metrics": {name: metrics.get(name) for name in HEADLINE_METRICS},
    }


def new_record(kind: str, request: dict[str, Any], result: dict[str, Any],
               run_id: str | None = None, created: float | None = None) -> dict[str, Any]:
    """The record of a run of ``kind`` that took ``request`` and answered ``result``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    return {"run_id": run_id or new_run_id(), "kind": kind,
            "created": round(time.time() if created is None else created, 3),
            "request": request, "summary": summarize(request, result), "result": result,
            "stored": {"complete": True}}


def list_entry(record: dict[str, Any]) -> dict[str, Any]:
    """What a list of runs holds of ``record``: id, kind, time, summary, completeness."""
    return {"run_id": record["run_id"], "kind": record["kind"], "created": record["created"],
            **record["summary"], "complete": record["stored"]["complete"]}


def encode(record: dict[str, Any]) -> bytes:
    """``record`` as zlib-compressed JSON (NumPy arrays written as lists)."""
    return zlib.compress(orjson.dumps(record, option=_JSON), ZLIB_LEVEL)


def decode_record(data: bytes) -> dict[str, Any]:
    """The record :func:`encode` wrote."""
    return orjson.loads(zlib.decompress(data))


def record_json(data: bytes) -> bytes:
    """The JSON text of a stored record, without parsing it (an answer sends it as is)."""
    return zlib.decompress(data)


def evenly_spaced(n: int, points: int) -> np.ndarray:
    """Indices of ``points`` evenly spaced items of ``n`` (the first and last among them).

    >>> evenly_spaced(10, 4).tolist()
    [0, 3, 6, 9]
    """
    if points >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max(points, 2)).round().astype(np.int64))


def _take(values: Sequence[Any] | np.ndarray, index: np.ndarray) -> Any:
    if isinstance(values, np.ndarray):
        return values[index]
    return [values[i] for i in index.tolist()]


def _thin_curve(curve: dict[str, Any], points: int) -> dict[str, Any]:
    index = evenly_spaced(len(curve["t"]), points)
    return {**curve, "t": _take(curve["t"], index), "v": _take(curve["v"], index)}


def curve_points(result: dict[str, Any]) -> int:
    """Points of the run's longest curve (equity, drawdown or an indicator)."""
    curves = [result.get("equity"), result.get("drawdown"), *(result.get("indicators") or ())]
    return max((len(c["t"]) for c in curves if c), default=0)


def thin_curves(result: dict[str, Any], points: int) -> dict[str, Any]:
    """``result`` with its equity, drawdown and indicator curves cut to at most ``points``
    evenly spaced points each (the first and last kept)."""
    thinned = dict(result)
    for name in ("equity", "drawdown"):
        if result.get(name):
            thinned[name] = _thin_curve(result[name], points)
    if result.get("indicators"):
        thinned["indicators"] = [_thin_curve(item, points) for item in result["indicators"]]
    return thinned


def fit_record(record: dict[str, Any], max_bytes: int) -> tuple[bytes, dict[str, Any]]:
    """``record`` encoded in at most ``max_bytes`` (never an error), and its ``stored`` notes:
    whole when it fits; else its curves thinned to evenly spaced points, then without markers
    (the trades say the same), then with the first trades only; the notes say what was done."""
    data = encode(record)
    if len(data) <= max_bytes:
        return data, record["stored"]
    result, stored = record["result"], {"complete": False}
    points = curve_points(result)
    total = points
    for _ in range(4):  # each step assumes the curves are what is too large
        points = max(MIN_CURVE_POINTS, int(points * 0.9 * max_bytes / len(data)))
        if points >= total:
            break
        stored["curves"] = {"points": points, "of": total}
        data = encode({**record, "result": thin_curves(result, points), "stored": stored})
        if len(data) <= max_bytes or points == MIN_CURVE_POINTS:
            break
    if len(data) <= max_bytes:
        return data, stored
    lean = {**thin_curves(result, min(points, total)), "markers": []}
    stored["dropped"] = ["markers"]
    data = encode({**record, "result": lean, "stored": stored})
    trades = list(result.get("trades") or ())
    kept = len(trades)
    while len(data) > max_bytes and kept > 0:
        kept = int(kept * 0.9 * max_bytes / len(data))
        stored["trades"] = {"kept": kept, "of": len(trades)}
        data = encode({**record, "result": {**lean, "trades": trades[:kept]}, "stored": stored})
    return data, stored
