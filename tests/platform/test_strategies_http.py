"""GET /strategies over HTTP: the built-ins' parameters, and a file dropped in while running."""

from __future__ import annotations

import textwrap

import httpx

from tests.conftest import Platform
from tests.support.polling import wait_for
from tests.support.strategy_files import BUILT_INS, NEW_STRATEGY


def test_get_strategies_lists_parameters_and_picks_up_a_dropped_file(
    http: httpx.Client, platform: Platform
):
    body = http.get("/strategies/").json()
    names = {s["name"] for s in body["strategies"]}
    assert names >= BUILT_INS
    sma = next(s for s in body["strategies"] if s["name"] == "sma_cross")
    assert sma["constraints"] == ["fast < slow"]
    assert {p["name"]: (p["type"], p["default"], p["min"]) for p in sma["params"]} == {
        "fast": ("int", 10, 2), "slow": ("int", 30, 3)}

    from pathlib import Path

    extra = Path(platform.env["STRATEGIES_DIR"])
    (extra / "momentum.py").write_text(textwrap.dedent(NEW_STRATEGY))

    def listed() -> bool:
        return "momentum_test" in {s["name"] for s in http.get("/strategies/").json()
                                   ["strategies"]}

    assert wait_for(listed, 10)
