"""An optimization's answer from its metrics matrix: best, top-N, objective surface, walk-forward.

Metrics arrive as ``(segments, combinations, metrics)``: segment 0 is the whole range (so the
best combination's metrics are exactly what /backtest gives for it), the others are the
in-sample windows of the walk-forward splits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deployments.backtest.metric_values import metrics_json, number_or_null
from deployments.optimize.grid import Grid
from kernels.backtest import METRICS

MINIMIZED = frozenset({"max_drawdown", "max_drawdown_bars"})
"""Objectives where less is better; every other metric is maximised."""


def ranking(values: np.ndarray, objective: str) -> np.ndarray:
    """Combination indices from best to worst by ``values``; NaN last, ties in grid order."""
    key = values if objective in MINIMIZED else -values
    key = np.where(np.isnan(key), np.inf, key)
    return np.argsort(key, kind="stable")


def walk_forward_segments(bars: int, splits: int, oos_fraction: float
                          ) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """``((in_start, in_end), (out_start, out_end))`` per split: the bars cut into ``splits``
    consecutive windows, each ending with its out-of-sample ``oos_fraction``; empty list if a
    part would hold fewer than two bars."""
    width = bars // splits
    windows = []
    for k in range(splits):
        start = k * width
        end = bars if k == splits - 1 else start + width
        cut = end - max(2, round((end - start) * oos_fraction))
        if cut - start < 2 or end - cut < 2:
            return []
        windows.append(((start, cut), (cut, end)))
    return windows


def build_result(grid: Grid, metrics: np.ndarray, objective: str, top_n: int,
                 t: np.ndarray,
                 walk_forward: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The ``result`` of a finished job (see the module docstring for ``metrics``)."""
    column = METRICS.index(objective)
    whole = metrics[0]
    values = whole[:, column]
    order = ranking(values, objective)
    top = [{"rank": rank + 1, "params": grid.combinations[k], "metrics": metrics_json(whole[k])}
           for rank, k in enumerate(order[:top_n].tolist())]
    return {
        "objective": objective,
        "direction": "min" if objective in MINIMIZED else "max",
        "combinations": len(grid),
        "bars": int(t.size),
        "best": {"params": top[0]["params"], "metrics": top[0]["metrics"]},
        "top": top,
        "surface": {
            "names": list(grid.names),
            "axes": grid.axes,
            "index": grid.index.tolist(),
            "objective": [number_or_null(v) for v in values.tolist()],
        },
        "walk_forward": walk_forward,
    }


def best_in_sample(metrics: np.ndarray, splits: int, objective: str) -> list[int]:
    """The best combination of each split's in-sample segment (segments 1..splits)."""
    column = METRICS.index(objective)
    return [int(ranking(metrics[1 + k][:, column], objective)[0]) for k in range(splits)]


def walk_forward_json(grid: Grid, metrics: np.ndarray, windows: list, chosen: list[int],
                      out_of_sample: np.ndarray, t: np.ndarray, objective: str
                      ) -> list[dict[str, Any]]:
    """One entry per split: its ranges (bar times), the in-sample choice and its scores."""
    column = METRICS.index(objective)
    rows = []
    for k, (((i0, i1), (o0, o1)), best) in enumerate(zip(windows, chosen, strict=True)):
        rows.append({
            "split": k + 1,
            "in_sample": {"start": int(t[i0]), "end": int(t[i1 - 1]), "bars": i1 - i0},
            "out_of_sample": {"start": int(t[o0]), "end": int(t[o1 - 1]), "bars": o1 - o0},
            "params": grid.combinations[best],
            "in_sample_objective": number_or_null(metrics[1 + k][best, column]),
            "in_sample_metrics": metrics_json(metrics[1 + k][best]),
            "out_of_sample_metrics": metrics_json(out_of_sample[k]),
        })
    return rows
