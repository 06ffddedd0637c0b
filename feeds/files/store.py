"""The durable store of imported bars: one directory tree on the disk of one node.

Layout under the root (``DATA_DIR/imports``)::

    catalog/<NAME>.json                    what a symbol holds and which generation is live
    bars/<NAME>/g<generation>/<year>/t.npy o.npy h.npy l.npy c.npy v.npy   (UTC years)
    staging/<import id>/t.bin ...          an import's validated rows, appended batch by batch

An import appends its batches to a staging directory (so memory holds one batch, not the file),
then :meth:`ImportedStore.commit` writes a new generation: untouched years are hard links of
the old generation's files, touched years are rewritten with the imported days replacing the
stored ones (whole wall-clock days of the symbol's zone). Only when every file of the new
generation is written and fsynced does the catalog entry switch to it (an atomic rename), so a
failed or interrupted import leaves the symbol exactly as it was. Readers memory-map a
generation's files; an old generation is removed after the switch.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from feeds.bars import Bars
from feeds.files.validation import DAY_S, wall_seconds

FILE_PREFIX = "file:"
NAME_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,29}")
_COLUMNS = ("t", "o", "h", "l", "c", "v")
_DTYPES = {"t": np.int64, **{name: np.float64 for name in _COLUMNS[1:]}}
_IMPORT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


class SymbolConflict(Exception):
    """The import does not fit the symbol already stored (another resolution or zone)."""


class UnknownSymbol(KeyError):
    """No imported symbol of that name."""


def file_symbol(name: str) -> str:
    """The platform's name of an imported symbol: ``goog`` -> ``file:GOOG`` (ValueError if the
    name is not 1-30 of A-Z 0-9 . _ - starting with a letter or digit)."""
    upper = name.strip().upper()
    if upper.startswith(FILE_PREFIX.upper()):
        upper = upper[len(FILE_PREFIX):]
    if not NAME_PATTERN.fullmatch(upper):
        raise ValueError("must be 1-30 of A-Z 0-9 . _ - starting with a letter or digit")
    return FILE_PREFIX + upper


def is_file_symbol(symbol: str) -> bool:
    """True for a symbol of the imported-files source (``file:...``)."""
    return symbol[:len(FILE_PREFIX)].lower() == FILE_PREFIX


@dataclass(frozen=True)
class SymbolEntry:
    """What the store holds for one symbol; times UTC epoch seconds, session in seconds after
    local midnight (None: a 24-hour market, every bar is in session)."""

    symbol: str
    timezone: str
    resolution_s: int
    session: tuple[int, int] | None
    first: int
    last: int
    bars: int
    generation: int
    years: tuple[int, ...]
    imported_at: float

    def as_json(self) -> dict:
        """The entry as JSON values (the catalog file and the Redis mirror hold this)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> SymbolEntry:
        """The entry :meth:`as_json` wrote."""
        session = tuple(data["session"]) if data.get("session") else None
        return cls(**{**data, "session": session, "years": tuple(data["years"])})


@dataclass(frozen=True)
class CommitResult:
    """The symbol after an import, and how many of its stored days the import replaced."""

    entry: SymbolEntry
    replaced_days: int


def _utc_year(t: int) -> int:
    return datetime.fromtimestamp(int(t), UTC).year


def _year_bounds(year: int) -> tuple[int, int]:
    first = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    return first, int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())


def _wall_days(t: np.ndarray, zone: ZoneInfo, chunk: int = 1 << 20) -> np.ndarray:
    """The distinct wall-clock days (day numbers) of ``t`` in ``zone``, a chunk at a time."""
    days = [np.unique(wall_seconds(np.asarray(t[i:i + chunk]), zone) // DAY_S)
            for i in range(0, t.size, chunk)]
    return np.unique(np.concatenate(days)) if days else np.empty(0, np.int64)


def _staged(folder: Path, name: str, first: int, stop: int) -> np.ndarray:
    """Rows ``[first, stop)`` of one staged column, read from its file."""
    return np.fromfile(folder / f"{name}.bin", _DTYPES[name], stop - first, offset=first * 8)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ImportedStore:
    """The store under ``root``; safe for threads of one process (one writer at a time)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._catalog = root / "catalog"
        self._bars = root / "bars"
        self._staging = root / "staging"
        for path in (self._catalog, self._bars, self._staging):
            path.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._clean_up()

    # -- catalog ----------------------------------------------------------------------------

    def entries(self) -> list[SymbolEntry]:
        """Every stored symbol, by name."""
        found = []
        for path in sorted(self._catalog.glob("*.json")):
            try:
                found.append(SymbolEntry.from_json(json.loads(path.read_text())))
            except (OSError, ValueError, TypeError, KeyError):
                continue
        return found

    def entry(self, symbol: str) -> SymbolEntry | None:
        """The symbol's entry, None when it is not stored."""
        path = self._catalog / f"{self._name(symbol)}.json"
        try:
            return SymbolEntry.from_json(json.loads(path.read_text()))
        except FileNotFoundError:
            return None

    @staticmethod
    def _name(symbol: str) -> str:
        return file_symbol(symbol)[len(FILE_PREFIX):]

    # -- import -----------------------------------------------------------------------------

    def stage(self, import_id: str, bars: Bars) -> None:
        """Append one validated batch to an import's staging files."""
        folder = self._staging_dir(import_id)
        folder.mkdir(exist_ok=True)
        for name, column in zip(_COLUMNS, bars.columns(), strict=True):
            with (folder / f"{name}.bin").open("ab") as handle:
                handle.write(memoryview(np.ascontiguousarray(column, dtype=_DTYPES[name])))

    def abort(self, import_id: str) -> None:
        """Forget an import's staged rows."""
        shutil.rmtree(self._staging_dir(import_id), ignore_errors=True)

    def _staging_dir(self, import_id: str) -> Path:
        if not _IMPORT_ID.fullmatch(import_id):
            raise ValueError("bad import id")
        return self._staging / import_id

    def commit(self, import_id: str, symbol: str, timezone: str, resolution_s: int,
               session: tuple[int, int] | None) -> CommitResult:
        """Make an import's staged rows part of ``symbol``, atomically (see the module doc)."""
        symbol = file_symbol(symbol)
        staged = self._staging_dir(import_id)
        try:
            with self._lock:
                return self._commit(staged, symbol, timezone, resolution_s, session)
        finally:
            shutil.rmtree(staged, ignore_errors=True)

    def _commit(self, staged: Path, symbol: str, timezone: str, resolution_s: int,
                session: tuple[int, int] | None) -> CommitResult:
        old = self.entry(symbol)
        if old is not None and (old.resolution_s, old.timezone) != (resolution_s, timezone):
            raise SymbolConflict(
                f"{symbol} holds bars of {old.resolution_s} s in {old.timezone}; this file has "
                f"{resolution_s} s in {timezone}: delete {symbol} first or import under "
                "another name")
        new_t = np.memmap(staged / "t.bin", dtype=np.int64, mode="r")
        new_days = _wall_days(new_t, ZoneInfo(timezone))
        new_years = set(range(_utc_year(new_t[0]), _utc_year(new_t[-1]) + 1))
        generation = max(time.time_ns() // 1000, (old.generation + 1) if old else 0)
        target = self._bars / self._name(symbol) / f"g{generation}"
        years: list[int] = []
        replaced = total = 0
        first = last = None
        for year in sorted(new_years | set(old.years if old else ())):
            written = self._write_year(target, year, old, staged, new_t, new_days,
                                       year in new_years)
            if written is None:
                continue
            (low, high, rows), replaced_here = written
            replaced += replaced_here
            years.append(year)
            first = low if first is None else first
            last = high
            total += rows
        del new_t
        entry = SymbolEntry(symbol, timezone, resolution_s, session, first, last, total,
                            generation, tuple(years), time.time())
        self._publish(entry)
        if old is not None:
            shutil.rmtree(self._bars / self._name(symbol) / f"g{old.generation}",
                          ignore_errors=True)
        return CommitResult(entry, replaced)

    def _write_year(self, target: Path, year: int, old: SymbolEntry | None, staged: Path,
                    new_t: np.ndarray, new_days: np.ndarray, touched: bool,
                    ) -> tuple[tuple[int, int, int], int] | None:
        """Write one UTC year of the new generation, a column at a time (memory: one column
        of the year); ``((first t, last t, rows), replaced days)``, None if it is empty."""
        folder = target / str(year)
        old_folder = (self._bars / self._name(old.symbol) / f"g{old.generation}" / str(year)
                      if old is not None and year in old.years else None)
        folder.mkdir(parents=True)
        if not touched and old_folder is not None:
            for name in _COLUMNS:
                os.link(old_folder / f"{name}.npy", folder / f"{name}.npy")
            t = np.load(folder / "t.npy", mmap_mode="r")
            return (int(t[0]), int(t[-1]), t.size), 0
        lo, hi = _year_bounds(year)
        a, b = (int(i) for i in np.searchsorted(new_t, [lo, hi]))
        keep = order = None
        replaced = 0
        if old_folder is not None:
            old_t = np.load(old_folder / "t.npy", mmap_mode="r")
            old_days = wall_seconds(np.asarray(old_t), ZoneInfo(old.timezone)) // DAY_S
            keep = ~np.isin(old_days, new_days)
            replaced = int(np.unique(old_days[~keep]).size)
            if keep.any():  # staged rows alone are strictly ascending already: no sort
                merged = np.concatenate([old_t[keep], _staged(staged, "t", a, b)])
                order = np.argsort(merged, kind="stable")
        if (0 if keep is None else int(keep.sum())) + (b - a) == 0:
            folder.rmdir()
            return None
        bounds = (0, 0, 0)
        for name in _COLUMNS:
            column = _staged(staged, name, a, b)
            if order is not None:
                old_column = np.load(old_folder / f"{name}.npy", mmap_mode="r")
                column = np.concatenate([old_column[keep], column])[order]
            if name == "t":
                bounds = (int(column[0]), int(column[-1]), column.size)
            with (folder / f"{name}.npy").open("wb") as handle:
                np.save(handle, column)
                handle.flush()
                os.fsync(handle.fileno())
            del column
        _fsync_dir(folder)
        return bounds, replaced

    def _year_folders(self, entry: SymbolEntry) -> list[Path]:
        base = self._bars / self._name(entry.symbol) / f"g{entry.generation}"
        return [base / str(year) for year in entry.years]

    def _publish(self, entry: SymbolEntry) -> None:
        """Switch the catalog to ``entry`` (atomic rename, fsynced)."""
        _fsync_dir(self._bars / self._name(entry.symbol) / f"g{entry.generation}")
        path = self._catalog / f"{self._name(entry.symbol)}.json"
        temporary = path.with_suffix(".json.tmp")
        with temporary.open("w") as handle:
            json.dump(entry.as_json(), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        _fsync_dir(self._catalog)

    # -- reading and removing ---------------------------------------------------------------

    def read(self, symbol: str, start: int, end: int, now: float | None = None) -> Bars:
        """Bars with start times in ``[start, end)`` and not after ``now`` (default: now)."""
        end = min(end, int(now if now is not None else time.time()) + 1)
        for _ in range(3):  # a commit may remove the generation between two steps: read again
            entry = self.entry(symbol)
            if entry is None:
                raise UnknownSymbol(symbol)
            try:
                return self._read(entry, start, end)
            except FileNotFoundError:
                continue
        raise UnknownSymbol(symbol)

    def _read(self, entry: SymbolEntry, start: int, end: int) -> Bars:
        parts: list[list[np.ndarray]] = [[] for _ in _COLUMNS]
        for year, folder in zip(entry.years, self._year_folders(entry), strict=True):
            lo, hi = _year_bounds(year)
            if hi <= start or lo >= end:
                continue
            t = np.load(folder / "t.npy", mmap_mode="r")
            a, b = np.searchsorted(t, [start, end])
            if b <= a:
                continue
            for k, name in enumerate(_COLUMNS):
                column = t if name == "t" else np.load(folder / f"{name}.npy", mmap_mode="r")
                parts[k].append(np.array(column[a:b]))
        if not parts[0]:
            return Bars.empty()
        return Bars(*(np.concatenate(column) for column in parts))

    def delete(self, symbol: str) -> bool:
        """Remove a symbol and its bars; False when there was none."""
        name = self._name(symbol)
        with self._lock:
            path = self._catalog / f"{name}.json"
            try:
                path.unlink()
            except FileNotFoundError:
                return False
            _fsync_dir(self._catalog)
            shutil.rmtree(self._bars / name, ignore_errors=True)
            return True

    def _clean_up(self) -> None:
        """Remove what an interrupted import left: staging rows, unreferenced generations."""
        for folder in self._staging.iterdir():
            shutil.rmtree(folder, ignore_errors=True)
        live = {entry.symbol[len(FILE_PREFIX):]: f"g{entry.generation}"
                for entry in self.entries()}
        for symbol_dir in self._bars.iterdir():
            for generation in symbol_dir.iterdir():
                if live.get(symbol_dir.name) != generation.name:
                    shutil.rmtree(generation, ignore_errors=True)
