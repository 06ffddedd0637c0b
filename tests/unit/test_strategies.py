"""The strategy registry, parameter validation and signals."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from strategies.registry import load_registry
from strategies.spec import ParamError
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
