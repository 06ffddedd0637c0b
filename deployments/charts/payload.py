"""The JSON body of a chart answer: columnar bars plus what the chart needs for local time.

Times stay UTC epoch seconds; ``tz_offsets`` lists ``[from_t, offset_s]`` pairs so the chart
shows exchange time as ``t + offset``. Where that would not be strictly ascending (bars inside
the repeated hour of a DST fall-back), ``local_t`` gives display times nudged to ascend.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from deployments.charts.request import ChartRequest
from feeds.bars import Bars
from feeds.eastern_time import offset_table

TIMEZONE = "America/New_York"
"""The zone of IQFeed symbols; an imported symbol has its own."""


def _volume(v: np.ndarray) -> np.ndarray:
    whole = v.size == 0 or bool(np.all(v == np.floor(v)))
    return v.astype(np.int64) if whole else v


def chart_payload(bars: Bars, zone: str = TIMEZONE, **fields: object) -> dict[str, object]:
    """``{**fields, timezone, tz_offsets, bars: {t, o, h, l, c, v}}`` (+ ``local_t`` if needed);
    local times are those of ``zone``."""
    payload: dict[str, object] = {**fields, "timezone": zone}
    if len(bars):
        tz_from, tz_offset = offset_table(int(bars.t[0]), int(bars.t[-1]), ZoneInfo(zone))
        tz_from = np.maximum(tz_from, bars.t[0])
        payload["tz_offsets"] = np.stack([tz_from, tz_offset], axis=1)
        local = bars.t + tz_offset[np.searchsorted(tz_from, bars.t, side="right") - 1]
        if bars.t.size > 1 and not (local[1:] > local[:-1]).all():
            payload["local_t"] = _strictly_ascending(local)
    else:
        payload["tz_offsets"] = []
    payload["bars"] = {
        "t": bars.t, "o": bars.o, "h": bars.h, "l": bars.l, "c": bars.c, "v": _volume(bars.v),
    }
    return payload


def _strictly_ascending(local: np.ndarray) -> np.ndarray:
    """Each value raised to at least one more than the one before it."""
    index = np.arange(local.size)
    return np.maximum.accumulate(local - index) + index


def empty_range_notice(chart: ChartRequest) -> str:
    """Why a chart has no bars, in words: no sessions in the range, or no data in it."""
    zone = ZoneInfo(chart.zone)
    first = datetime.fromtimestamp(chart.start, zone).date()
    last = (datetime.fromtimestamp(chart.end, zone) - timedelta(seconds=1)).date()
    between = f"between {first} and {last}" if last > first else f"on {first}"
    if not chart.is_file and not chart.days:
        return f"no trading sessions {between} (weekends and exchange holidays)"
    return f"no bars of {chart.symbol} {between}"
