"""An optimization's answer from its metrics matrix: best, top-N, objective surface, walk-forward.

Metrics arrive as ``(segments, combinations, metrics)``: segment 0 is the whole range (so the
best combination's metrics are exactly what /backtest gives for it), the others are the
in-sample windows of the walk-forward splits.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from deployments.backtest.metric_values import metrics_json, number_or_null, values_or_null
from deployments.optimize.grid import Grid
from deployments.optimize.robustness import neighbourhood
from kernels.backtest import METRICS

TopExtras = Callable[[list[int]], dict[str, Any]]
"""Given the ranked combination indices, further result fields (deflated Sharpe, Monte Carlo)."""

MINIMIZED = frozenset({"max_drawdown", "max_drawdown_bars"})
"""Objectives where less is better; every other metric is maximised."""


def ranking(values: np.ndarray, objective: str) -> np.ndarray:
    """Combination indices from best to worst by ``values``; NaN last, ties in grid order."""
    key = values if objective in MINIMIZED else -values
    key = np.where(np.isnan(key), np.inf, key)
    return np.argsort(key, kind="stable")


MIN_OUT_OF_SAMPLE_BARS = 10
WARM_UP_MARGIN_BARS = 20
"""An in-sample window holds the longest lookback plus this many bars at least."""


def walk_forward_segments(bars: int, splits: int, oos_fraction: float, min_in: int = 2,
                          min_out: int = 2) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """``((in_start, in_end), (out_start, out_end))`` per split: the bars cut into ``splits``
    consecutive windows, each ending with its out-of-sample ``oos_fraction``; empty list if an
    in-sample part would hold fewer than ``min_in`` bars or an out-of-sample one fewer than
    ``min_out``."""
    width = bars // splits
    windows = []
    for k in range(splits):
        start = k * width
        end = bars if k == splits - 1 else start + width
        cut = end - max(2, round((end - start) * oos_fraction))
        if cut - start < max(2, min_in) or end - cut < max(2, min_out):
            return []
        windows.append(((start, cut), (cut, end)))
    return windows


def plateau(grid: Grid, values: np.ndarray, objective: str) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, worst)`` of the objective over each combination's grid neighbours (worst: the
    minimum, or the maximum for a minimised objective); another symbol is never a neighbour."""
    sign = -1.0 if objective in MINIMIZED else 1.0
    fixed = tuple(k for k, name in enumerate(grid.names) if name == "symbol")
    mean, worst = neighbourhood(grid.index, sign * values, fixed)
    return sign * mean, sign * worst


def build_result(grid: Grid, metrics: np.ndarray, objective: str, top_n: int,
                 t: np.ndarray, walk_forward: list[dict[str, Any]] | None, min_trades: int = 0,
                 select: str = "peak", extras: TopExtras | None = None) -> dict[str, Any]:
    """The ``result`` of a finished job (see the module docstring for ``metrics``).

    Combinations with fewer than ``min_trades`` trades never rank; ``select`` ranks by the
    objective (``peak``) or its neighbourhood mean (``plateau``); ``extras`` adds fields
    computed from the ranked combinations."""
    column = METRICS.index(objective)
    whole = metrics[0]
    values = whole[:, column]
    trades = whole[:, METRICS.index("num_trades")]
    # Neighbours with too few trades do not lift (or sink) a plateau either.
    mean, worst = plateau(grid, np.where(trades >= min_trades, values, np.nan), objective)
    ranked_by = np.where(trades >= min_trades, mean if select == "plateau" else values, np.nan)
    order = [k for k in ranking(ranked_by, objective).tolist() if not np.isnan(ranked_by[k])]

    def row(k: int) -> dict[str, Any]:
        return {"params": grid.combinations[k], "metrics": metrics_json(whole[k]),
                "plateau": {"mean": number_or_null(mean[k]), "worst": number_or_null(worst[k])}}

    top = [{"rank": rank + 1, **row(k)} for rank, k in enumerate(order[:top_n])]
    best = ({"params": top[0]["params"], "metrics": top[0]["metrics"],
             "plateau": top[0]["plateau"]} if top else None)
    return {
        "objective": objective,
        "direction": "min" if objective in MINIMIZED else "max",
        "select": select,
        "min_trades": min_trades,
        "combinations": len(grid),
        "ranked": len(order),
        "below_min_trades": int((trades < min_trades).sum()),
        "bars": int(t.size),
        "best": best,
        "top": top,
        "surface": {
            "names": list(grid.names),
            "axes": grid.axes,
            "index": grid.index.tolist(),
            "objective": values_or_null(values),
            "plateau": values_or_null(mean),
            "plateau_worst": values_or_null(worst),
            "trades": values_or_null(trades),
        },
        "walk_forward": walk_forward,
        **({"census": census(grid, order, row)} if "symbol" in grid.names else {}),
        **(extras(order[:top_n]) if extras is not None and order else {}),
    }


def census(grid: Grid, order: list[int], row: Callable[[int], dict[str, Any]]
           ) -> list[dict[str, Any]]:
    """Per swept symbol: how many of its combinations ranked and its best row (by the job's
    selection), or None when none did."""
    axis = grid.names.index("symbol")
    out = []
    for position, symbol in enumerate(grid.axes["symbol"]):
        members = grid.index[:, axis] == position
        ranked = [k for k in order if members[k]]
        out.append({"symbol": symbol, "combinations": int(members.sum()),
                    "ranked": len(ranked), "best": row(ranked[0]) if ranked else None})
    return out


def walk_forward_minimums(grid: Grid) -> tuple[int, int]:
    """``(in-sample, out-of-sample)`` bars a walk-forward window needs to trade: the longest
    integer parameter on the grid (a lookback) plus a margin, and a few bars out of sample."""
    lookbacks = [value for axis in grid.axes.values() for value in axis
                 if isinstance(value, int) and not isinstance(value, bool)]
    return max(lookbacks, default=0) + WARM_UP_MARGIN_BARS, MIN_OUT_OF_SAMPLE_BARS


def walk_forward_summary(chosen_in: np.ndarray, out_of_sample: np.ndarray,
                         equity: tuple[np.ndarray, np.ndarray]) -> dict[str, Any]:
    """Walk-forward efficiency (mean out-of-sample CAGR over mean in-sample CAGR of the chosen
    combinations, Pardo's ratio) and the stitched out-of-sample equity curve ``{t, v}``."""
    cagr = METRICS.index("cagr")
    inside, outside = chosen_in[:, cagr], out_of_sample[:, cagr]
    efficiency = math.nan
    if np.isfinite(inside).all() and np.isfinite(outside).all() and inside.mean() != 0:
        efficiency = float(outside.mean() / inside.mean())
    return {"efficiency": number_or_null(efficiency),
            "equity": {"t": equity[0].tolist(), "v": values_or_null(equity[1])}}


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
