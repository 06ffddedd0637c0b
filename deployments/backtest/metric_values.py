"""Metric values as the API writes them: plain floats, NaN and infinities as null."""

from __future__ import annotations

import math

import numpy as np

from kernels.backtest import METRICS


def number_or_null(value: float) -> float | None:
    """``value`` as a float, or None when it is NaN or infinite (JSON has neither)."""
    return None if math.isnan(value) or math.isinf(value) else float(value)


def metrics_json(row: np.ndarray) -> dict[str, float | None]:
    """One metrics row (in :data:`kernels.backtest.METRICS` order) by name."""
    return {name: number_or_null(value) for name, value in zip(METRICS, row, strict=True)}


def named_json(values: dict[str, float]) -> dict[str, float | None]:
    """Named metric values with NaN and infinities as null."""
    return {name: number_or_null(value) for name, value in values.items()}


def values_or_null(values: np.ndarray) -> list[float | None]:
    """An array's values as floats, NaN and infinities as null."""
    return [number_or_null(value) for value in values.tolist()]
