"""Parameter grids of an optimization: axes from the request, combinations the strategy allows.

A grid maps parameter names to ``{"min", "max", "step"}`` or to a list of values. Parameters
left out keep their default. Every value is checked against the parameter's spec, and the
strategy's constraints (e.g. ``fast < slow``) drop the combinations that break them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from deployments.common.errors import FieldError
from strategies.spec import ParamError, StrategySpec

MAX_AXIS_VALUES = 100_000
"""Most values one axis may hold, whatever the combination limit."""


@dataclass(frozen=True)
class Grid:
    """The expanded grid: axis values per swept parameter and every allowed combination."""

    names: tuple[str, ...]
    axes: dict[str, list[Any]]
    combinations: list[dict[str, Any]]
    index: np.ndarray  # (combinations, names): position of each value on its axis

    def __len__(self) -> int:
        return len(self.combinations)

    def subset(self, positions: list[int]) -> Grid:
        """The same axes with only the combinations at ``positions`` (in that order)."""
        return Grid(self.names, self.axes, [self.combinations[k] for k in positions],
                    self.index[np.asarray(positions, dtype=np.int64)].reshape(
                        len(positions), len(self.names)))


def _range_values(field: str, spec: dict[str, Any]) -> list[float]:
    unknown = set(spec) - {"min", "max", "step"}
    if unknown:
        raise FieldError(field, f"unknown key(s) {', '.join(sorted(unknown))}; "
                                "use min, max and step")
    for key in ("min", "max", "step"):
        value = spec.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
                value):
            raise FieldError(f"{field}.{key}", "must be a finite number")
    low, high, step = spec["min"], spec["max"], spec["step"]
    if step <= 0:
        raise FieldError(f"{field}.step", "must be greater than 0")
    if high < low:
        raise FieldError(f"{field}.max", "must be >= min")
    steps = (high - low) / step  # inf when the range overflows a float
    if not steps < MAX_AXIS_VALUES:
        raise FieldError(field, f"spans more than {MAX_AXIS_VALUES} values; at most "
                                f"{MAX_AXIS_VALUES} per parameter")
    count = math.floor(steps + 1e-9) + 1
    # Multiplying (not accumulating) keeps 0.1 steps from drifting; rounding trims float dust.
    return [round(low + k * step, 10) for k in range(count)]


def _axis(spec: StrategySpec, name: str, raw: Any) -> list[Any]:
    field = f"grid.{name}"
    param = next((p for p in spec.params if p.name == name), None)
    if param is None:
        raise FieldError(field, f"unknown parameter of {spec.name}")
    if isinstance(raw, dict):
        if param.kind in ("bool", "choice"):
            raise FieldError(field, f"a {param.kind} parameter takes a list of values")
        values: list[Any] = _range_values(field, raw)
    elif isinstance(raw, list):
        if not raw:
            raise FieldError(field, "must list at least one value")
        if len(raw) > MAX_AXIS_VALUES:
            raise FieldError(field, f"lists {len(raw)} values; at most {MAX_AXIS_VALUES}")
        values = raw
    else:
        raise FieldError(field, "must be {\"min\", \"max\", \"step\"} or a list of values")
    checked = []
    for value in values:
        try:
            checked.append(param.coerce(value))
        except ParamError as error:
            raise FieldError(field, f"value {value!r} {error.reason}") from None
    distinct = sorted(set(checked), key=lambda v: (str(type(v)), v))
    return distinct


def expand_grid(spec: StrategySpec, grid: dict[str, Any], max_combinations: int | None) -> Grid:
    """Every combination of ``grid`` that ``spec`` accepts; FieldError (422) names the bad
    field, including a grid larger than ``max_combinations`` (with its size; None: no limit,
    for a grid admitted before)."""
    if not isinstance(grid, dict) or not grid:
        raise FieldError("grid", "must name at least one parameter to sweep")
    names = tuple(grid)
    axes = {name: _axis(spec, name, grid[name]) for name in names}
    size = math.prod(len(values) for values in axes.values())
    if max_combinations is not None and size > max_combinations:
        raise FieldError("grid", f"holds {size} combinations; at most {max_combinations} "
                                 "per job")
    defaults = {p.name: p.default for p in spec.params}
    combinations, index = [], []
    for position in itertools.product(*(range(len(axes[n])) for n in names)):
        values = dict(defaults)
        values.update({n: axes[n][i] for n, i in zip(names, position, strict=True)})
        if all(constraint.holds(values) for constraint in spec.constraints):
            combinations.append(values)
            index.append(position)
    if not combinations:
        broken = ", ".join(str(c) for c in spec.constraints) or "the parameter bounds"
        raise FieldError("grid", f"no combination satisfies {broken}")
    return Grid(names, axes, combinations,
                np.array(index, dtype=np.int32).reshape(len(index), len(names)))
