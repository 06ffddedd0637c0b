"""The live path's pure parts: a watch folding bar lines in, and a stream's chart bars built
from a feed's base bars, checked against the history path's build of the same base bars."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from deployments.charts.builder import build_chart
from deployments.charts.request import parse_chart_request
from deployments.common.errors import FieldError
from deployments.common.settings import load_settings
from deployments.iqfeed.live_watch import LiveWatch
from deployments.live.chart_bars import LiveChartBars, live_bar_length, live_chart
from deployments.live.hub import LiveFeed
from feeds.bars import Bars
from feeds.iqfeed.streaming_protocol import BarLine
from feeds.synthetic_market import second_bars

ET = ZoneInfo("America/New_York")
DAY = date(2026, 3, 11)


def _at(hour: int, minute: int, second: int = 0) -> int:
    return int(datetime(DAY.year, DAY.month, DAY.day, hour, minute, second,
                        tzinfo=ET).timestamp())


def _line(kind: str, t: int, c: float, v: float = 10.0, rid: str = "L1") -> BarLine:
    return BarLine(kind, rid, "AAPL", t, c, c + 1, c - 1, c, 0.0, v, 1)


def test_a_watch_keeps_each_bar_once_and_its_forming_bar_apart():
    watch = LiveWatch("AAPL", 60, "L1", DAY)
    for minute in range(3):
        watch.apply(_line("history", _at(10, minute), 100 + minute))
    assert not watch.synced and watch.forming is None
    watch.apply(_line("update", _at(10, 3), 103))
    assert watch.synced and watch.forming[0] == _at(10, 3)
    watch.apply(_line("complete", _at(10, 3), 103.5))
    assert watch.forming is None and watch.times[-1] == _at(10, 3)
    epoch = watch.epoch
    # A reconnect re-watches from the newest bar: it comes again, and is kept once.
    assert watch.resume_from() == _at(10, 3)
    watch.apply(_line("history", _at(10, 3), 103.5))
    watch.apply(_line("history", _at(10, 4), 104))
    assert watch.times == [_at(10, m) for m in range(5)] and watch.epoch == epoch
    view = watch.view(epoch, 3)
    assert view["from"] == 3 and [row[0] for row in view["bars"]] == [_at(10, 3), _at(10, 4)]
    # A bar that lands before the newest one moves the epoch: pollers read all again.
    watch.apply(_line("history", _at(9, 59), 99))
    assert watch.epoch == epoch + 1 and watch.view(epoch, 5)["from"] == 0
    # A late update of a completed bar changes nothing; a bar of the next day starts afresh.
    watch.apply(_line("update", _at(10, 2), 1.0))
    assert watch.forming is None
    watch.apply(BarLine("history", "L1", "AAPL", _at(10, 0) + 86400, 1, 1, 1, 1, 0, 1, 1))
    assert watch.day == date(2026, 3, 12) and len(watch.times) == 1
    bars = watch.completed()
    assert bars.t.dtype == np.int64 and list(bars.c) == [1.0]


def _chart(interval: str, rth: bool = True):
    settings = load_settings({"dtn_product_id": "", "dtn_login": "", "dtn_password": "",
                              "second_history_days": 3650})
    return live_chart(parse_chart_request(settings, "AAPL", interval, DAY.isoformat(),
                                          DAY.isoformat(), rth))


def test_live_charts_are_intraday_feed_symbols():
    assert live_bar_length(_chart("5m")) == 60 and live_bar_length(_chart("15s")) == 1
    assert _chart("5m").tier == "1m" and _chart("15s").tier == "1s"
    with pytest.raises(FieldError) as error:
        live_chart(dataclasses.replace(_chart("5m"), interval="1d", interval_s=86400))
    assert error.value.field == "interval"


def _feed(base: Bars, upto: int, forming: bool) -> LiveFeed:
    feed = LiveFeed(None, "AAPL", 1)
    rows = [[float(base.t[i]), base.o[i], base.h[i], base.l[i], base.c[i], base.v[i]]
            for i in range(upto)]
    feed.rows = rows
    feed.times = [int(r[0]) for r in rows]
    if forming:
        i = upto
        feed.forming = [float(base.t[i]), base.o[i], base.h[i], base.l[i], base.c[i],
                        base.v[i]]
    feed.horizon = int(base.t[upto]) if forming else int(base.t[upto - 1]) + 1
    return feed


def test_stream_bars_are_the_history_bars_and_only_changes_are_sent():
    raw = second_bars("AAPL", DAY)
    base = Bars(raw["t"], raw["o"], raw["h"], raw["l"], raw["c"], raw["v"])
    chart = _chart("1m")
    chart = dataclasses.replace(chart, tier="1s")  # built from 1-second bars here
    upto = int(np.searchsorted(base.t, _at(10, 7, 30)))
    live = LiveChartBars(chart, since=_at(10, 3))
    sent = live.changes(_feed(base, upto, forming=True))
    # Bars from 10:03 to the forming 10:07, equal to history's build of the same seconds.
    expected = build_chart(chart, Bars(*(c[: upto + 1] for c in base.columns())))
    first = int(np.searchsorted(expected.t, _at(10, 3)))
    assert [b["t"] for b in sent] == [int(t) for t in expected.t[first:]]
    for bar, i in zip(sent, range(first, len(expected)), strict=True):
        assert (bar["o"], bar["h"], bar["l"], bar["c"], bar["v"]) == (
            expected.o[i], expected.h[i], expected.l[i], expected.c[i], expected.v[i])
    assert [b["final"] for b in sent] == [True] * (len(sent) - 1) + [False]
    # Nothing new: nothing sent. A few more seconds: only the forming minute, changed.
    assert live.changes(_feed(base, upto, forming=True)) == []
    later = int(np.searchsorted(base.t, _at(10, 7, 50)))
    again = live.changes(_feed(base, later, forming=True))
    assert [b["t"] for b in again] == [_at(10, 7)] and not again[0]["final"]
    # The minute ends: sent once more, final, and the next one begins.
    end = int(np.searchsorted(base.t, _at(10, 8, 5)))
    closing = live.changes(_feed(base, end, forming=True))
    assert [(b["t"], b["final"]) for b in closing] == [(_at(10, 7), True), (_at(10, 8), False)]
    full = build_chart(chart, Bars(*(c[: end + 1] for c in base.columns())))
    minute = int(np.searchsorted(full.t, _at(10, 7)))
    assert closing[0]["v"] == full.v[minute] and closing[0]["h"] == full.h[minute]


def test_a_regular_hours_stream_sends_nothing_before_the_open():
    raw = second_bars("AAPL", DAY)
    base = Bars(raw["t"], raw["o"], raw["h"], raw["l"], raw["c"], raw["v"])
    chart = dataclasses.replace(_chart("5m"), tier="1s")
    upto = int(np.searchsorted(base.t, _at(9, 0)))
    assert LiveChartBars(chart, None).changes(_feed(base, upto, forming=True)) == []
    extended = dataclasses.replace(_chart("5m", rth=False), tier="1s")
    sent = LiveChartBars(extended, None).changes(_feed(base, upto, forming=True))
    assert sent and sent[0]["t"] >= _at(4, 0)
    assert (sent[-1]["t"], sent[-1]["final"]) == (_at(9, 0), False)  # the forming bar


def test_a_stream_is_open_only_inside_the_charts_session():
    regular = LiveChartBars(_chart("5m"), None)
    extended = LiveChartBars(_chart("5m", rth=False), None)
    assert regular.trading(DAY, _at(10, 0)) and regular.trading(DAY, _at(15, 59, 59))
    assert not regular.trading(DAY, _at(9, 29)) and not regular.trading(DAY, _at(16, 0))
    assert extended.trading(DAY, _at(5, 0)) and extended.trading(DAY, _at(19, 59))
    assert not extended.trading(DAY, _at(20, 0))
    assert not regular.trading(date(2026, 3, 12), _at(10, 0) + 86400)
