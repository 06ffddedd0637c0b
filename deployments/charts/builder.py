"""Turns base bars into the bars a chart asked for (filter, then one resampling kernel call)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np

from deployments.charts.request import ChartRequest
from deployments.charts.tiers import DAILY_TIER
from feeds.bars import Bars
from feeds.eastern_time import offset_table
from feeds.market_calendar import REGULAR_CLOSE, REGULAR_OPEN, after_early_closes
from kernels.resample import resample_intraday, resample_sessions, session_mask

REGULAR_OPEN_S = REGULAR_OPEN.hour * 3600 + REGULAR_OPEN.minute * 60
REGULAR_CLOSE_S = REGULAR_CLOSE.hour * 3600 + REGULAR_CLOSE.minute * 60
ANCHOR_S = REGULAR_OPEN_S
"""Intraday buckets count from the regular open: a 1h bar starts at 09:30, 10:30, ..."""


def select_base(request: ChartRequest, base: Bars) -> tuple[Bars, tuple]:
    """The base bars inside the request's range (and regular hours when ``rth``), with the
    time-zone table the kernels need for them."""
    if base.t.size > 1 and not (base.t[1:] > base.t[:-1]).all():
        # The kernels need strictly ascending times; a feed answer out of order is repaired.
        _, index = np.unique(base.t, return_index=True)
        base = Bars(*(column[index] for column in base.columns()))
    keep = (base.t >= request.start) & (base.t < request.end)
    tz = offset_table(request.start, request.end, ZoneInfo(request.zone))
    daily_base = request.tier == DAILY_TIER or request.bar_s >= 86400
    if request.rth and request.session is not None and not daily_base:
        keep &= session_mask(base.t, *request.session, *tz)
        if not request.is_file:
            keep &= ~after_early_closes(base.t, request.days)
    return Bars(*(column[keep] for column in base.columns())), tz


def build_chart(request: ChartRequest, base: Bars) -> Bars:
    """The request's bars from its tier's base bars."""
    bars, tz = select_base(request, base)
    if request.interval in ("1d", "1w"):
        if request.bar_s >= 86400 and request.interval == "1d":
            return bars
        return Bars(*resample_sessions(
            *bars.columns(), request.interval == "1w", request.session_open_s, *tz
        ))
    if request.interval_s == request.bar_s:
        return bars
    return Bars(*resample_intraday(*bars.columns(), request.interval_s, request.anchor_s, *tz))
