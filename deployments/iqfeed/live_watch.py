"""One live bar watch of the streaming actor: today's completed bars and the forming one.

A :class:`LiveWatch` folds the derivative port's ``BH``/``BC``/``BU`` lines of one
(symbol, bar length) into today's bars. Bars are keyed by their start, so a bar sent twice
(a re-watch after a reconnect repeats the bars since the last one held) is kept once, and a
watch begun at the day's first second holds every completed bar of the day. ``seq`` counts
changes; pollers wait on :meth:`changed`.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import time
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np

from feeds.bars import Bars
from feeds.eastern_time import EASTERN
from feeds.iqfeed.streaming_protocol import BarLine

BarRow = tuple[int, float, float, float, float, float]
"""``(t, o, h, l, c, v)`` of one bar, ``t`` its start in UTC epoch seconds."""


def _day_of(t: int) -> date:
    return datetime.fromtimestamp(t, EASTERN).date()


@dataclass
class LiveWatch:
    """Today's bars of one upstream watch, as the stream told them."""

    symbol: str
    bar_s: int
    request_id: str
    day: date
    times: list[int] = field(default_factory=list)
    rows: list[BarRow] = field(default_factory=list)
    forming: BarRow | None = None
    seq: int = 0
    epoch: int = 0
    """Bumped when a bar is inserted before the newest one (pollers then read all again)."""
    updates: int = 0
    last_poll: float = field(default_factory=time.monotonic)
    stored_seq: int = -1
    stored_at: float = 0.0
    synced: bool = False
    """True once the watch's history part has been answered (the first BU or BC)."""
    _event: asyncio.Event = field(default_factory=asyncio.Event)

    def apply(self, line: BarLine) -> None:
        """Fold one bar line in; a bar of another day starts the day afresh."""
        day = _day_of(line.t)
        if day > self.day:
            self.day, self.times, self.rows, self.forming = day, [], [], None
            self.epoch += 1
        elif day < self.day:
            return
        row: BarRow = (line.t, line.o, line.h, line.low, line.c, line.v)
        self.updates += 1
        if line.kind == "update":
            self.synced = True
            if self.times and line.t <= self.times[-1]:
                return  # a late update of a bar already completed
            self.forming = row
        else:
            if line.kind == "complete":
                self.synced = True
            self._complete(row)
            if self.forming is not None and self.forming[0] <= line.t:
                self.forming = None
        self._bump()

    def _complete(self, row: BarRow) -> None:
        t = row[0]
        if not self.times or t > self.times[-1]:
            self.times.append(t)
            self.rows.append(row)
            return
        at = bisect.bisect_left(self.times, t)
        if at < len(self.times) and self.times[at] == t:
            if self.rows[at] == row:
                return  # sent again after a reconnect: kept once
            self.rows[at] = row
        else:
            self.times.insert(at, t)
            self.rows.insert(at, row)
        self.epoch += 1

    def _bump(self) -> None:
        self.seq += 1
        self._event.set()
        self._event = asyncio.Event()

    def wake(self) -> None:
        """Wake the pollers (the connection's state changed)."""
        self._bump()

    async def changed(self, seq: int, timeout_s: float) -> None:
        """Return once ``seq`` is behind the watch's, or after ``timeout_s``."""
        if self.seq != seq:
            return
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_s)

    def resume_from(self) -> int | None:
        """Where a re-watch should start: the newest completed bar (sent again, kept once)."""
        return self.times[-1] if self.times else None

    def completed(self) -> Bars:
        """Today's completed bars."""
        if not self.rows:
            return Bars.empty()
        table = np.array(self.rows, dtype=np.float64)
        return Bars(np.array(self.times, dtype=np.int64), *(table[:, k].copy()
                                                              for k in range(1, 6)))

    def view(self, epoch: int, count: int) -> dict[str, object]:
        """What a poller holding ``count`` bars of ``epoch`` lacks: the bars after them (all of
        them when the epoch moved on), the forming bar and the counters."""
        start = count if epoch == self.epoch and count <= len(self.rows) else 0
        return {
            "seq": self.seq, "epoch": self.epoch, "day": self.day.isoformat(),
            "from": start, "count": len(self.rows), "bars": self.rows[start:],
            "forming": self.forming,
        }
