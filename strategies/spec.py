"""How a strategy describes itself: typed parameters, constraints between them, its signals.

A strategy module defines ``STRATEGY = StrategySpec(...)``. Its ``signals`` function takes the
bar columns and the parameter values and returns two boolean arrays, ``enter_long`` and
``exit_long``, decided on each bar's close; the backtest engine reads the short side as their
mirror (a long exit is a short entry). What fills them, and when, is the engine's business.

A strategy may also declare a :class:`DedicatedSweep`: kernels that compute the metrics of many
parameter combinations at once without filling signal matrices. :meth:`StrategySpec.sweep_segments`
(what an optimization's chunk tasks run) uses it when declared and the signal-matrix sweep of
``signals`` otherwise; both give the same numbers (to 1e-9, tests check).

A strategy may declare ``indicators(o, h, l, c, v, **params)`` returning the series it trades
on as :class:`IndicatorSeries` (one value per bar, NaN during warm-up), each placed on the price
chart (``pane="overlay"``) or in a pane of its own (``"rsi"``, ``"macd"``, ...) with optional
horizontal ``levels``; :meth:`StrategySpec.indicator_series` calls it and checks the shapes.
Computing them with the functions ``signals`` uses makes the drawn lines the traded ones.
"""

from __future__ import annotations

import importlib
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kernels.backtest import Context, sweep_signals
from kernels.strategy_sweep import sweep_segments

_OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
Signals = Callable[..., tuple[np.ndarray, np.ndarray]]
OVERLAY = "overlay"
STYLES = ("line", "histogram")


class ParamError(ValueError):
    """A parameter value is unknown, of the wrong type, out of range or breaks a constraint."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.reason = message


@dataclass(frozen=True)
class Param:
    """One parameter: ``kind`` is ``int``, ``float``, ``bool`` or ``choice``."""

    name: str
    kind: str
    default: Any
    description: str = ""
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()

    def coerce(self, value: Any) -> Any:
        """``value`` as this parameter's type, checked against its bounds; ParamError if not."""
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ParamError(self.name, "must be true or false")
            return value
        if self.kind == "choice":
            if value not in self.choices:
                raise ParamError(self.name, f"must be one of {', '.join(self.choices)}")
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParamError(self.name, f"must be a number ({self.kind})")
        if not math.isfinite(value):
            raise ParamError(self.name, "must be a finite number")
        if self.kind == "int":
            if int(value) != value:
                raise ParamError(self.name, "must be a whole number")
            value = int(value)
        else:
            value = float(value)
        if self.min is not None and value < self.min:
            raise ParamError(self.name, f"must be >= {self.min:g}")
        if self.max is not None and value > self.max:
            raise ParamError(self.name, f"must be <= {self.max:g}")
        return value

    def as_json(self) -> dict[str, Any]:
        """The parameter for /strategies."""
        data = {"name": self.name, "type": self.kind, "default": self.default,
                "description": self.description}
        for key in ("min", "max", "step"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.choices:
            data["choices"] = list(self.choices)
        return data


@dataclass(frozen=True)
class Constraint:
    """``left op right`` between two parameters, e.g. ``Constraint("fast", "<", "slow")``."""

    left: str
    op: str
    right: str

    def holds(self, values: dict[str, Any]) -> bool:
        """True when the values satisfy the constraint."""
        return _OPERATORS[self.op](values[self.left], values[self.right])

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right}"


@dataclass(frozen=True)
class DedicatedSweep:
    """A strategy's own sweep kernels, called as ``kernel(t, o, h, l, c, *columns, params,
    segments, context=context)`` and returning metrics ``(segments, combinations, metrics)``.

    ``columns`` are the values of the parameters named in ``inputs`` over the combinations, one
    NumPy array each (int64 for int parameters); ``params`` is the packed trading settings
    (``kernels.backtest.pack_params``); ``segments`` is an ``(S, 2)`` array of ``[start, end)``
    bar ranges, indicators warmed up by the bars before each; ``context`` is the bars'
    ``kernels.backtest.bar_context`` (session ends, base bars), passed only when a request needs
    it. ``cuda`` names the GPU twin as
    ``"module:function"``, imported only by GPU chunk tasks; without it they run the
    signal-matrix CUDA sweep. The numbers must equal the signal-matrix sweep of the strategy's
    ``signals`` (to 1e-9 on every metric).
    """

    inputs: tuple[str, ...]
    cpu: Callable[..., np.ndarray] = field(repr=False)
    cuda: str | None = None

    def kernel(self, device: str) -> Callable[..., np.ndarray] | None:
        """The kernel for ``device`` ("cpu" or "gpu"), or None when there is none."""
        if device == "cpu":
            return self.cpu
        if self.cuda is None:
            return None
        module, name = self.cuda.split(":")
        return getattr(importlib.import_module(module), name)


@dataclass(frozen=True, eq=False)
class IndicatorSeries:
    """One named series to draw: ``values`` per bar, on the price chart (``pane="overlay"``)
    or in the named pane, as a ``"line"`` or ``"histogram"``, with horizontal ``levels``."""

    name: str
    values: np.ndarray = field(repr=False)
    pane: str = OVERLAY
    levels: tuple[float, ...] = ()
    style: str = "line"

    def __post_init__(self) -> None:
        if not self.name or not self.pane:
            raise ValueError("an indicator series needs a name and a pane")
        if self.style not in STYLES:
            raise ValueError(f"{self.name}: style must be one of {', '.join(STYLES)}")
        object.__setattr__(self, "values", np.asarray(self.values, dtype=np.float64))
        object.__setattr__(self, "levels", tuple(float(x) for x in self.levels))


Indicators = Callable[..., Sequence[IndicatorSeries]]


@dataclass(frozen=True)
class StrategySpec:
    """A strategy: its name for the API, text for people, parameters, signal function and,
    optionally, a dedicated sweep and the indicator series to draw."""

    name: str
    title: str
    description: str
    params: tuple[Param, ...]
    signals: Signals = field(repr=False)
    constraints: tuple[Constraint, ...] = ()
    sweep: DedicatedSweep | None = None
    indicators: Indicators | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: parameter names repeat")
        for param in self.params:
            if param.kind not in ("int", "float", "bool", "choice"):
                raise ValueError(f"{self.name}.{param.name}: unknown kind {param.kind!r}")
            param.coerce(param.default)  # the default must be valid and finite
        for constraint in self.constraints:
            if constraint.op not in _OPERATORS or not {constraint.left, constraint.right} <= set(
                    names):
                raise ValueError(f"{self.name}: constraint {constraint} names unknown "
                                 f"parameters or operators")
        if self.sweep is not None:
            if not self.sweep.inputs or not set(self.sweep.inputs) <= set(names):
                raise ValueError(f"{self.name}: the dedicated sweep's inputs "
                                 f"{self.sweep.inputs} must be parameters")
            if self.sweep.cuda is not None and self.sweep.cuda.count(":") != 1:
                raise ValueError(f"{self.name}: the dedicated sweep's cuda must read "
                                 f"'module:function'")

    def validate(self, values: dict[str, Any]) -> dict[str, Any]:
        """Complete ``values`` with defaults and check them; ParamError names the parameter."""
        known = {p.name: p for p in self.params}
        for name in values:
            if name not in known:
                raise ParamError(name, f"unknown parameter of {self.name}")
        checked = {name: known[name].coerce(values.get(name, known[name].default))
                   for name in known}
        for constraint in self.constraints:
            if not constraint.holds(checked):
                raise ParamError(constraint.left, f"must satisfy {constraint}")
        return checked

    def indicator_series(self, o: np.ndarray, h: np.ndarray, l: np.ndarray, c: np.ndarray,
                         v: np.ndarray, params: dict[str, Any]) -> list[IndicatorSeries]:
        """The series to draw for ``params`` (none without ``indicators``); ValueError when one
        is not an IndicatorSeries of one value per bar."""
        if self.indicators is None:
            return []
        series = list(self.indicators(o, h, l, c, v, **params))
        for item in series:
            if not isinstance(item, IndicatorSeries):
                raise ValueError(f"{self.name}: indicators must return IndicatorSeries")
            if item.values.shape != c.shape:
                raise ValueError(f"{self.name}: indicator {item.name!r} has shape "
                                 f"{item.values.shape}, expected {c.shape}")
        return series

    def sweep_segments(self, bars: tuple[np.ndarray, ...], combinations: Sequence[dict[str, Any]],
                       params: np.ndarray, segments: Sequence[tuple[int, int]],
                       device: str = "cpu", context: Context | None = None) -> np.ndarray:
        """Metrics ``(segments, combinations, metrics)`` over ``bars = (t, o, h, l, c, v)`` on
        ``device`` ("cpu" or "gpu"): the dedicated sweep when declared, else signal matrices;
        ``context``: the bars' ``kernels.backtest.bar_context`` (None: none)."""
        kernel = None if self.sweep is None else self.sweep.kernel(device)
        if kernel is not None:
            columns = [np.asarray([values[name] for values in combinations])
                       for name in self.sweep.inputs]
            extra = {} if context is None else {"context": context}
            return kernel(*bars[:5], *columns, params, np.asarray(segments, np.int64), **extra)
        if device == "gpu":
            from kernels.backtest_cuda import sweep_signals_cuda as matrix_sweep
        else:
            matrix_sweep = sweep_signals
        return sweep_segments(self.signals, bars, combinations, params, segments,
                              sweep=matrix_sweep, context=context)

    def as_json(self) -> dict[str, Any]:
        """The strategy for /strategies."""
        return {
            "name": self.name, "title": self.title, "description": self.description,
            "params": [p.as_json() for p in self.params],
            "constraints": [str(c) for c in self.constraints],
        }
