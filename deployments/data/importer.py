"""An upload's import, run in a worker thread of the ``data`` replica that received the file.

The file is read and checked here, next to the upload, one batch at a time; each checked batch
goes to the ``bar-files`` actor (through the object store, so the replica and the actor may sit
on different nodes), and the actor commits the whole import at the end or forgets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import ray

from deployments.data.progress import ImportProgress
from feeds.files.bar_file import Progress
from feeds.files.importing import read_checked
from feeds.files.store import CommitResult, SymbolEntry
from feeds.files.validation import resolution_name


@dataclass(frozen=True)
class ImportOrder:
    """What to import: the upload's path and the form's fields, validated."""

    import_id: str
    path: Path
    symbol: str
    timezone: str
    resolution_s: int | None
    session: tuple[int, int] | None


def run_import(files: ray.actor.ActorHandle, order: ImportOrder,
               progress: ImportProgress) -> CommitResult:
    """Read, check and stage the file, then commit it; nothing stays staged on any error."""
    last = Progress(0, 0, 0)

    def report(step: Progress) -> None:
        nonlocal last
        last = step
        progress.update("reading", step)

    try:
        checked = read_checked(
            order.path, ZoneInfo(order.timezone), order.resolution_s,
            lambda bars: ray.get(files.stage.remote(order.import_id, bars)), report)
        progress.update("storing", last)
        result = ray.get(files.commit.remote(order.import_id, order.symbol, order.timezone,
                                             checked.resolution_s, order.session))
    except BaseException as error:
        ray.get(files.abort.remote(order.import_id))
        message = str(getattr(error, "cause", None) or error)
        progress.update("failed", last, message.splitlines()[0][:500] if message else "")
        raise
    progress.update("done", Progress(result.entry.bars, last.total, last.total))
    return result


def format_moment(t: int, timezone: str) -> str:
    """ISO 8601 time of UTC epoch seconds in ``timezone``, with its offset."""
    return datetime.fromtimestamp(int(t), ZoneInfo(timezone)).isoformat()


def format_session(session: tuple[int, int] | None) -> str | None:
    """``(34200, 57600)`` -> ``09:30-16:00``; None for a 24-hour market."""
    if session is None:
        return None
    return "-".join(f"{s // 3600:02d}:{s % 3600 // 60:02d}" for s in session)


def entry_answer(entry: SymbolEntry) -> dict[str, object]:
    """A stored symbol as ``GET /data/`` and the import answer show it."""
    return {
        "symbol": entry.symbol,
        "bars": entry.bars,
        "first": format_moment(entry.first, entry.timezone),
        "last": format_moment(entry.last, entry.timezone),
        "resolution": resolution_name(entry.resolution_s),
        "timezone": entry.timezone,
        "session": format_session(entry.session),
    }
