"""Loads what a backtest needs beside the chart's bars: session ends for ``flat_at_close``
and the base bars inside each bar for ``intrabar: base_bars``."""

from __future__ import annotations

from deployments.backtest.bar_context import base_bounds, session_ends
from deployments.backtest.request import TradingRequest
from deployments.charts.request import ChartRequest
from deployments.charts.source import ChartSource
from deployments.common.errors import FieldError
from feeds.bars import Bars
from kernels.backtest import Context, bar_context


def check_settings(body: TradingRequest, chart: ChartRequest, max_days: int) -> None:
    """FieldError (422) for trading settings the kernels cannot run: the sizing's (see
    ``TradingRequest.checked_sizing``), or base bars over more than ``max_days`` days."""
    body.packed_params()
    if body.intrabar == "base_bars" and len(chart.days) > max_days:
        raise FieldError("intrabar", f"base_bars replays at most {max_days} trading days "
                                     "(MAX_REQUEST_DAYS): shorten the range")


async def load_context(source: ChartSource, chart: ChartRequest, bars: Bars,
                       body: TradingRequest) -> tuple[Context, list[str]]:
    """The bars' kernel context and the base resolutions it holds (finest first); the
    caller has run :func:`check_settings` (at admission)."""
    ends = session_ends(bars.t, chart.zone) if body.flat_at_close else None
    if body.intrabar != "base_bars":
        return bar_context(len(bars), ends), []
    base, tiers = await source.intrabar_base(chart)
    bounds = base_bounds(bars.t, chart.end, base.t)
    return bar_context(len(bars), ends, (bounds, base.o, base.h, base.l)), tiers
