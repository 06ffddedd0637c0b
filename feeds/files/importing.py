"""One import from start to end: read a file, check every batch, stage it, commit.

:func:`read_checked` is the part that reads and checks (it runs where the file is: the HTTP
replica that received the upload, or the CLI); staging and committing go to an
:class:`~feeds.files.store.ImportedStore` directly (:func:`import_file`) or through the actor
that owns it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from feeds.bars import Bars
from feeds.files.bar_file import BarFile, Progress
from feeds.files.store import CommitResult, ImportedStore
from feeds.files.validation import BarChecks


@dataclass(frozen=True)
class CheckedFile:
    """What a fully read and checked file holds."""

    rows: int
    resolution_s: int


def read_checked(
    path: Path, zone: ZoneInfo, declared_s: int | None,
    stage: Callable[[Bars], None], report: Callable[[Progress], None] = lambda _: None,
) -> CheckedFile:
    """Read ``path`` batch by batch, check each (ImportRejected on the first bad row) and hand
    it to ``stage``; ``report`` hears the progress after every batch."""
    source = BarFile(path, zone)
    checks = BarChecks(source.columns, zone)
    for batch in source.batches():
        checks.check(batch.first_row, batch.bars)
        stage(batch.bars)
        report(source.progress)
    return CheckedFile(checks.rows, checks.resolution_s(declared_s))


def import_file(
    store: ImportedStore, import_id: str, path: Path, symbol: str, timezone: str,
    declared_s: int | None = None, session: tuple[int, int] | None = None,
    report: Callable[[Progress], None] = lambda _: None,
) -> CommitResult:
    """Import ``path`` into ``store`` as ``symbol`` in one process; nothing is kept on error."""
    try:
        checked = read_checked(path, ZoneInfo(timezone), declared_s,
                               lambda bars: store.stage(import_id, bars), report)
        return store.commit(import_id, symbol, timezone, checked.resolution_s, session)
    finally:
        store.abort(import_id)
