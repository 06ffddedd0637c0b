"""Turns a live feed's base bars into the chart's bars, and says which of them changed.

A chart's live bars are built like its history (:func:`build_chart`: the same session filter,
buckets and anchor) from today's base bars of the chart's newest bucket on; a
:class:`LiveChartBars` per stream remembers what it sent, so each pass sends only the bars that
are new or changed. A bar is final once a later bar exists or the feed's clock passed its end
(its heartbeat) or its last base bar completed, with no forming base bar inside it.
"""

from __future__ import annotations

import dataclasses
from datetime import date

from deployments.charts.builder import build_chart
from deployments.charts.request import ChartRequest
from deployments.common.errors import FieldError
from deployments.live.hub import LiveFeed
from feeds.market_calendar import session_bounds_utc

BASE_TIERS = {1: "1s", 60: "1m"}


def live_bar_length(chart: ChartRequest) -> int:
    """The base bar (seconds) a live chart is built from: minutes where the interval allows."""
    return 60 if chart.interval_s % 60 == 0 else 1


def live_chart(chart: ChartRequest) -> ChartRequest:
    """Today's chart of ``chart`` (a one-day request) on its live base bars; FieldError when
    the chart has no live form."""
    if chart.is_file:
        raise FieldError("symbol", "an imported symbol has no live feed")
    if chart.interval_s >= 86400 or chart.interval in ("1d", "1w"):
        raise FieldError("interval", "live bars are intraday: pick an interval up to 4h")
    return dataclasses.replace(chart, tier=BASE_TIERS[live_bar_length(chart)])


class LiveChartBars:
    """What one stream sent of a live chart."""

    def __init__(self, chart: ChartRequest, since: int | None) -> None:
        self.chart = chart
        self.since = since if since is not None else chart.start
        self.sent: dict[int, tuple[float, ...]] = {}
        # A regular-hours chart's last bar ends at the close, not a whole interval later.
        self.close = (session_bounds_utc(chart.days[-1])[1] if chart.rth and chart.days
                      else None)

    def trading(self, day: date, market_time: int | None) -> bool:
        """True when ``day`` (the feed's) is the chart's trading day and the feed's clock
        ``market_time`` is inside the chart's session (regular or extended hours)."""
        if not self.chart.days or self.chart.days[-1] != day:
            return False
        opening, closing = session_bounds_utc(day, extended=not self.chart.rth)
        return market_time is None or opening <= market_time < closing

    def changes(self, feed: LiveFeed) -> list[dict[str, object]]:
        """The chart bars from ``since`` on that are new or changed since the last call."""
        bars = build_chart(self.chart, feed.base_since(self.since))
        if not len(bars):
            return []
        forming_t = feed.forming[0] if feed.forming else None
        # Known to be over: the feed's clock passed it, or its last base bar completed.
        done = int(feed.times[-1]) + feed.bar_s if feed.times else 0
        horizon = max(feed.horizon or 0, done)
        out = []
        n = len(bars)
        for i in range(n):
            t = int(bars.t[i])
            end = t + self.chart.interval_s
            if self.close is not None and t < self.close:
                end = min(end, self.close)
            final = i < n - 1 or (horizon >= end and (forming_t is None or forming_t >= end))
            row = (float(bars.o[i]), float(bars.h[i]), float(bars.l[i]), float(bars.c[i]),
                   float(bars.v[i]), float(final))
            if self.sent.get(t) != row:
                self.sent[t] = row
                out.append({"t": t, "o": row[0], "h": row[1], "l": row[2], "c": row[3],
                            "v": row[4], "final": final})
        # Only the newest bucket can still change: later passes start there.
        newest = int(bars.t[-1])
        self.since = newest
        self.sent = {t: row for t, row in self.sent.items() if t >= newest}
        return out
