"""A stored run's downloads: its trades as CSV, and a report (metrics, curves, request) as JSON.

Pure computation over a decoded record (no Ray, Redis or web framework). The CSV's columns are
the keys the trades have, in their order (``entry_time, exit_time, side, entry_price,
exit_price, units, pnl, return, bars, exit_reason`` today), so a new trade field becomes a
new column by itself; times (``*_time``) are written as ISO 8601 UTC.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import orjson


def iso_utc(epoch_s: float) -> str:
    """Epoch seconds as ISO 8601 UTC: ``iso_utc(0) == "1970-01-01T00:00:00Z"``."""
    moment = datetime.fromtimestamp(epoch_s, tz=UTC)
    return moment.isoformat(timespec="seconds" if moment.microsecond == 0 else "auto"
                            ).replace("+00:00", "Z")


TRADE_COLUMNS = ("entry_time", "exit_time", "side", "entry_price", "exit_price", "units", "pnl",
                 "return", "bars", "exit_reason")
"""The header of a run without trades (the keys of a backtest's trades today)."""


def trade_columns(trades: list[dict[str, Any]]) -> list[str]:
    """Every key any trade has, in the order they first appear (:data:`TRADE_COLUMNS` when
    there are no trades)."""
    return list(dict.fromkeys(key for trade in trades for key in trade)) or list(TRADE_COLUMNS)


def _cell(name: str, value: Any) -> Any:
    if value is None:
        return ""
    if name.endswith("_time") and isinstance(value, int | float):
        return iso_utc(value)
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return value


def trades_csv(trades: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    """The trades as CSV text: a header row, then one row per trade (an empty value for a
    key a trade lacks or holds as null).

    >>> print(trades_csv([{"entry_time": 60, "side": "long", "pnl": 1.5}]), end="")
    entry_time,side,pnl
    1970-01-01T00:01:00Z,long,1.5
    """
    columns = columns or trade_columns(trades)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for trade in trades:
        writer.writerow([_cell(name, trade.get(name)) for name in columns])
    return out.getvalue()


def report(record: dict[str, Any]) -> dict[str, Any]:
    """The report of a run: its id, kind, time, request, summary, metrics, equity and
    drawdown curves, and what storing it thinned."""
    result = record["result"]
    return {"run_id": record["run_id"], "kind": record["kind"], "created": record["created"],
            "request": record["request"], "summary": record["summary"],
            "metrics": result.get("metrics"), "equity": result.get("equity"),
            "drawdown": result.get("drawdown"), "stored": record["stored"]}


def attachment(filename: str) -> dict[str, str]:
    """The header that makes a browser save an answer as ``filename``."""
    return {"Content-Disposition": f'attachment; filename="{filename}"'}
