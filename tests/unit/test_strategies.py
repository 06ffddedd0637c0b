"""The strategy registry, parameter validation and signals."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from kernels import indicators as ind
from strategies.registry import load_registry
from strategies.spec import IndicatorSeries, ParamError, StrategySpec
from tests.support.strategy_files import BUILT_INS, NEW_STRATEGY

RNG = np.random.default_rng(11)
CLOSE = 100 + np.cumsum(RNG.normal(0, 1, 3000))
BARS = (CLOSE, CLOSE + 1, CLOSE - 1, CLOSE, np.full(CLOSE.size, 1000.0))


def test_built_in_strategies_load_and_signal():
    registry = load_registry()
    assert set(registry.strategies) == BUILT_INS and registry.failures == {}
    for spec in registry.strategies.values():
        enter, leave = spec.signals(*BARS, **spec.validate({}))
        assert enter.dtype == leave.dtype == np.bool_ and enter.size == CLOSE.size
        assert enter.any() and leave.any(), spec.name
        assert not (enter & leave).all()


@pytest.mark.parametrize(
    ("strategy", "params", "param"),
    [
        ("sma_cross", {"fast": 30, "slow": 10}, "fast"),
        ("sma_cross", {"fast": 1}, "fast"),
        ("sma_cross", {"fast": 2.5}, "fast"),
        ("sma_cross", {"fast": "ten"}, "fast"),
        ("sma_cross", {"speed": 3}, "speed"),
        ("rsi_reversion", {"lower": 80, "upper": 70}, "lower"),
        ("bollinger_reversion", {"width": 9}, "width"),
    ],
)
def test_invalid_parameters_name_the_parameter(strategy, params, param):
    spec = load_registry().strategies[strategy]
    with pytest.raises(ParamError) as raised:
        spec.validate(params)
    assert raised.value.param == param


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_parameters_are_refused(value):
    for name, param in (("sma_cross", "fast"), ("bollinger_reversion", "width")):
        with pytest.raises(ParamError) as raised:
            load_registry().strategies[name].validate({param: value})
        assert raised.value.param == param


def test_a_spec_with_a_bad_constraint_fails_to_load(tmp_path):
    (tmp_path / "bad_spec.py").write_text(textwrap.dedent('''
        from strategies.spec import Constraint, Param, StrategySpec
        STRATEGY = StrategySpec(name="bad", title="Bad", description="",
                                params=(Param("a", "int", 1),), signals=lambda *a, **k: None,
                                constraints=(Constraint("a", "<", "b"),))
    '''))
    registry = load_registry(tmp_path)
    assert "bad" not in registry.strategies
    assert "constraint" in next(v for k, v in registry.failures.items() if "bad_spec" in k)


def test_validation_fills_defaults_and_types():
    spec = load_registry().strategies["sma_cross"]
    assert spec.validate({"slow": 50.0}) == {"fast": 10, "slow": 50}
    assert isinstance(spec.validate({"slow": 50.0})["slow"], int)


def test_extra_directory_file_loads_and_broken_ones_are_reported(tmp_path):
    (tmp_path / "momentum.py").write_text(NEW_STRATEGY)
    (tmp_path / "broken.py").write_text("import does_not_exist\n")
    registry = load_registry(tmp_path)
    assert "momentum_test" in registry.strategies
    assert set(registry.strategies) >= BUILT_INS
    assert "does_not_exist" in next(v for k, v in registry.failures.items() if "broken" in k)


def _shifted(x: np.ndarray) -> np.ndarray:
    return np.r_[np.nan, x[:-1]]


def _expected_indicators(name: str, params: dict, o, h, l, c, v) -> list[tuple]:
    """(name, pane, style, levels, values) of each built-in's series, from kernels.indicators."""
    p = params
    if name == "sma_cross":
        return [(f"SMA {p['fast']}", "overlay", "line", (), ind.sma(c, p["fast"])),
                (f"SMA {p['slow']}", "overlay", "line", (), ind.sma(c, p["slow"]))]
    if name == "ema_cross":
        return [(f"EMA {p['fast']}", "overlay", "line", (), ind.ema(c, p["fast"])),
                (f"EMA {p['slow']}", "overlay", "line", (), ind.ema(c, p["slow"]))]
    if name == "bollinger_reversion":
        mean, std = ind.sma(c, p["window"]), ind.rolling_std(c, p["window"])
        label = f"({p['window']}, {p['width']:g})"
        return [(f"BB upper {label}", "overlay", "line", (), mean + p["width"] * std),
                (f"BB middle {label}", "overlay", "line", (), mean),
                (f"BB lower {label}", "overlay", "line", (), mean - p["width"] * std)]
    if name == "donchian_breakout":
        return [(f"Donchian high {p['entry_window']}", "overlay", "line", (),
                 _shifted(ind.rolling_max(h, p["entry_window"]))),
                (f"Donchian low {p['exit_window']}", "overlay", "line", (),
                 _shifted(ind.rolling_min(l, p["exit_window"])))]
    if name == "rsi_reversion":
        return [(f"RSI {p['window']}", "rsi", "line", (p["lower"], p["upper"]),
                 ind.rsi(c, p["window"]))]
    macd = ind.ema(c, p["fast"]) - ind.ema(c, p["slow"])
    signal = ind.ema(macd, p["signal"])
    return [(f"MACD ({p['fast']}, {p['slow']})", "macd", "line", (), macd),
            (f"Signal ({p['signal']})", "macd", "line", (), signal),
            ("Histogram", "macd", "histogram", (), macd - signal)]


NON_DEFAULT = {"sma_cross": {"fast": 7, "slow": 25}, "ema_cross": {"fast": 5, "slow": 40},
               "bollinger_reversion": {"window": 15, "width": 1.5},
               "donchian_breakout": {"entry_window": 30, "exit_window": 12},
               "rsi_reversion": {"window": 9, "lower": 25.0, "upper": 80.0},
               "macd_cross": {"fast": 8, "slow": 21, "signal": 5}}


@pytest.mark.parametrize("name", sorted(BUILT_INS))
@pytest.mark.parametrize("params", ["defaults", "other"])
def test_built_in_indicators_are_the_kernels_series_for_the_runs_parameters(name, params):
    spec = load_registry().strategies[name]
    values = spec.validate({} if params == "defaults" else NON_DEFAULT[name])
    series = spec.indicator_series(*BARS, values)
    expected = _expected_indicators(name, values, *BARS)
    assert [(s.name, s.pane, s.style, s.levels) for s in series] == [e[:4] for e in expected]
    for got, want in zip(series, expected, strict=True):
        np.testing.assert_array_equal(got.values, want[4])
        assert np.isfinite(got.values[-100:]).all(), got.name


def test_the_drawn_lines_are_the_traded_ones():
    spec = load_registry().strategies["bollinger_reversion"]
    values = spec.validate({})
    _, middle, lower = (s.values for s in spec.indicator_series(*BARS, values))
    enter, leave = spec.signals(*BARS, **values)
    np.testing.assert_array_equal(enter, lower > CLOSE)
    np.testing.assert_array_equal(leave, middle <= CLOSE)


def test_a_strategy_without_indicators_draws_nothing_and_bad_series_are_refused():
    spec = StrategySpec(name="plain", title="Plain", description="", params=(),
                        signals=lambda *bars: (bars[3] > 0, bars[3] < 0))
    assert spec.indicator_series(*BARS, {}) == []
    short = StrategySpec(name="short", title="Short", description="", params=(),
                         signals=spec.signals,
                         indicators=lambda *bars: [IndicatorSeries("x", bars[3][:-1])])
    with pytest.raises(ValueError, match="shape"):
        short.indicator_series(*BARS, {})
    with pytest.raises(ValueError, match="style"):
        IndicatorSeries("x", CLOSE, style="dots")
