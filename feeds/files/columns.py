"""Which columns of an imported file are the time and the OHLCV fields, from common headers.

Accepted (case and surrounding spaces ignored): a time column ``datetime``, ``timestamp``,
``date_time``, ``time``, ``date``, ``ts``, ``t``, ``open_time`` (or separate ``date`` and ``time``
columns, joined); ``open``/``o``, ``high``/``h``, ``low``/``l``, ``close``/``c``/``last``; and an
optional ``volume``/``vol``/``v`` (0 when absent). Other columns are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from feeds.files.errors import ImportRejected

_TIME = ("datetime", "timestamp", "date_time", "date time", "open_time", "opentime", "ts", "t")
_ROLES = {
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c", "last"),
    "volume": ("volume", "vol", "v"),
}


@dataclass(frozen=True)
class ColumnMap:
    """The file's own column names for each role; ``date``/``clock`` when time is split in two."""

    time: str
    clock: str | None
    open: str
    high: str
    low: str
    close: str
    volume: str | None

    def prices(self) -> dict[str, str]:
        """``{role: file column}`` of the four prices and, when present, the volume."""
        names = {"open": self.open, "high": self.high, "low": self.low, "close": self.close}
        if self.volume is not None:
            names["volume"] = self.volume
        return names

    def time_columns(self) -> list[str]:
        """The file columns that make up the bar time."""
        return [self.time] + ([self.clock] if self.clock else [])


def map_columns(names: list[str]) -> ColumnMap:
    """Find each role among ``names``; ImportRejected names what is missing.

    >>> map_columns(["Date", "Open", "High", "Low", "Close", "Volume"]).time
    'Date'
    """
    by_key = {}
    for name in names:
        by_key.setdefault(name.strip().lower(), name)
    time_name = next((by_key[k] for k in _TIME if k in by_key), None)
    clock = None
    if time_name is None and "date" in by_key:
        time_name = by_key["date"]
        clock = by_key.get("time")
    elif time_name is None:
        time_name = by_key.get("time")
    if time_name is None:
        raise ImportRejected(
            "no time column: name one Date, Datetime, Timestamp or Time", column=None, row=None)
    found: dict[str, str | None] = {}
    for role, keys in _ROLES.items():
        found[role] = next((by_key[k] for k in keys if k in by_key), None)
        if found[role] is None and role != "volume":
            raise ImportRejected(f"no {role} column (looked for {', '.join(keys)})",
                                 column=None, row=None)
    return ColumnMap(time_name, clock, found["open"], found["high"], found["low"],
                     found["close"], found["volume"])
