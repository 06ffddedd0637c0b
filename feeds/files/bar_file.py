"""Reads a CSV or Parquet file of OHLCV bars in batches of NumPy columns, times as UTC seconds.

Only one batch (``BATCH_ROWS`` rows) is held at a time, so a file of any length streams through
in bounded memory; pyarrow does the parsing (CSV in C++ blocks, Parquet by row groups), pandas
the time strings. Times may be epoch numbers (seconds, milliseconds, microseconds or
nanoseconds, told apart by size, always UTC), ISO 8601 strings with an offset (absolute) or
without one (wall time in the given zone), dates, or a date and a time column. A wall time
that a DST change makes ambiguous or nonexistent is refused, not guessed.

Left to other modules: the checks of the bars themselves (:mod:`feeds.files.validation`) and
storing them (:mod:`feeds.files.store`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from feeds.bars import Bars
from feeds.files.columns import ColumnMap, map_columns
from feeds.files.errors import ImportRejected

BATCH_ROWS = 1 << 20
_CSV_BLOCK = 2 << 20  # pyarrow's streaming reader reads ~40 blocks ahead: keep them small
_PARQUET_MAGIC = b"PAR1"
_OFFSET = r"(Z|z|[+-][0-9]{2}:?[0-9]{2})$"
_NUMERIC = r"^\s*[0-9]+(\.[0-9]*)?\s*$"


@dataclass(frozen=True)
class Batch:
    """Bars of rows ``first_row .. first_row + len - 1`` (1-based) of the file."""

    first_row: int
    bars: Bars


@dataclass(frozen=True)
class Progress:
    """How far a read has come: rows converted and bytes (CSV) or rows (Parquet) of the total."""

    rows: int
    done: int
    total: int


def is_parquet(path: Path) -> bool:
    """True when the file starts with Parquet's magic bytes (whatever its name)."""
    with path.open("rb") as handle:
        return handle.read(4) == _PARQUET_MAGIC


class BarFile:
    """One file to read; iterate :meth:`batches`, read :attr:`progress` between them."""

    def __init__(self, path: Path, zone: ZoneInfo) -> None:
        self.path = path
        self.zone = zone
        self.parquet = is_parquet(path)
        self.progress = Progress(0, 0, path.stat().st_size)
        self.columns = self._columns()

    def _columns(self) -> ColumnMap:
        if self.parquet:
            try:
                names = pq.ParquetFile(self.path).schema_arrow.names
            except (pa.ArrowException, OSError) as error:
                raise ImportRejected(f"not a readable Parquet file ({error})") from None
            return map_columns(names)
        return map_columns(_csv_header(self.path))

    def batches(self) -> Iterator[Batch]:
        """The file's bars in order, one batch at a time (ImportRejected on a bad value)."""
        reader = self._parquet() if self.parquet else self._csv()
        row = 1
        for table in reader:
            if table.num_rows == 0:
                continue
            bars = self._convert(table, row)
            yield Batch(row, bars)
            row += table.num_rows

    def _parquet(self) -> Iterator[pa.RecordBatch]:
        handle = pq.ParquetFile(self.path)
        total = handle.metadata.num_rows
        wanted = self.columns.time_columns() + list(self.columns.prices().values())
        rows = 0
        for batch in handle.iter_batches(batch_size=BATCH_ROWS, columns=wanted):
            rows += batch.num_rows
            self.progress = Progress(rows, rows, total)
            yield batch

    def _csv(self) -> Iterator[pa.RecordBatch]:
        names = self.columns
        types: dict[str, pa.DataType] = {column: pa.string() for column in names.time_columns()}
        types.update({column: pa.float64() for column in names.prices().values()})
        source = pa.OSFile(str(self.path))
        rows = 0
        try:
            reader = pacsv.open_csv(
                source,
                read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK, use_threads=True),
                parse_options=pacsv.ParseOptions(delimiter=_delimiter(self.path)),
                convert_options=pacsv.ConvertOptions(
                    column_types=types, include_columns=list(types), strings_can_be_null=True),
            )
            pending: list[pa.RecordBatch] = []
            held = 0
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                rows += batch.num_rows
                self.progress = Progress(rows, source.tell(), self.progress.total)
                pending.append(batch)
                held += batch.num_rows
                if held >= BATCH_ROWS:
                    *full, last = _rebatch(pending)
                    yield from full
                    pending, held = [last], last.num_rows
                    if held == BATCH_ROWS:
                        yield last
                        pending, held = [], 0
            if held:
                yield from _rebatch(pending)
        except pa.ArrowInvalid as error:
            raise self._locate_csv_error(error, rows) from None
        finally:
            source.close()

    def _locate_csv_error(self, error: pa.ArrowInvalid, rows_before: int) -> ImportRejected:
        """Read the file again as text to say which row and column held the bad number."""
        names = list(self.columns.prices().values())
        reader = pacsv.open_csv(
            str(self.path),
            read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK),
            parse_options=pacsv.ParseOptions(delimiter=_delimiter(self.path)),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), include_columns=names),
        )
        row = 1
        for batch in reader:
            for name in names:
                text = batch.column(name).to_numpy(zero_copy_only=False)
                numbers = pd.to_numeric(pd.Series(text), errors="coerce").to_numpy()
                bad = np.flatnonzero(np.isnan(numbers) & pd.notna(text)
                                     & (pd.Series(text).str.strip() != "").to_numpy())
                if bad.size:
                    return ImportRejected(f"{text[bad[0]]!r} is not a number",
                                          row=row + int(bad[0]), column=name)
            row += batch.num_rows
        return ImportRejected(f"not a readable CSV file ({error})")

    def _convert(self, table: pa.RecordBatch, first_row: int) -> Bars:
        names = self.columns
        t = self._times(table, first_row)
        prices = {}
        for role, column in names.prices().items():
            values = table.column(column)
            if not (pa.types.is_floating(values.type) or pa.types.is_integer(values.type)):
                try:
                    values = pc.cast(values, pa.float64())
                except pa.ArrowInvalid:
                    raise ImportRejected("is not a number", row=first_row, column=column) from None
            prices[role] = values.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        volume = prices.get("volume", np.zeros(t.size))
        return Bars(t, prices["open"], prices["high"], prices["low"], prices["close"], volume)

    def _times(self, table: pa.RecordBatch, first_row: int) -> np.ndarray:
        names = self.columns
        values = table.column(names.time)
        if names.clock is not None:
            clock = pc.cast(table.column(names.clock), pa.string())
            values = pc.binary_join_element_wise(pc.cast(values, pa.string()), clock, " ")
        kind = values.type
        if pa.types.is_timestamp(kind):
            stamps = pd.DatetimeIndex(values.to_pandas())
            return _utc_seconds(stamps, self.zone, names.time, first_row)
        if pa.types.is_date(kind):
            stamps = pd.DatetimeIndex(pd.to_datetime(values.to_pandas()))
            return _utc_seconds(stamps, self.zone, names.time, first_row)
        if pa.types.is_integer(kind) or pa.types.is_floating(kind):
            return _epoch_seconds(values.to_numpy(zero_copy_only=False), names.time, first_row)
        return self._parse_strings(pc.cast(values, pa.string()), first_row)

    def _parse_strings(self, values: pa.Array, first_row: int) -> np.ndarray:
        column = self.columns.time
        _require_present(values, column, first_row)
        if (pc.match_substring_regex(values.slice(0, 1), _NUMERIC)[0].as_py()
                and pc.all(pc.match_substring_regex(values, _NUMERIC)).as_py()):
            return _epoch_seconds(pc.cast(pc.utf8_trim_whitespace(values), pa.float64())
                                  .to_numpy(), column, first_row)
        naive = _whole_seconds(values)
        if naive is not None:
            return _utc_seconds(pd.DatetimeIndex(naive), self.zone, column, first_row)
        has_offset = pc.match_substring_regex(values, _OFFSET).to_numpy(zero_copy_only=False)
        if has_offset.any() and not has_offset.all():
            row = int(np.flatnonzero(has_offset != has_offset[0])[0])
            raise ImportRejected("mixes times with and without a UTC offset",
                                 row=first_row + row, column=column)
        text = values.to_numpy(zero_copy_only=False)
        stamps = pd.to_datetime(pd.Series(text), format="ISO8601", errors="coerce",
                                utc=bool(has_offset.all()))
        bad = np.flatnonzero(stamps.isna().to_numpy())
        if bad.size:
            raise ImportRejected(
                f"{text[bad[0]]!r} is not a time (ISO 8601 such as 2024-01-02 09:30:00, or "
                "epoch seconds)", row=first_row + int(bad[0]), column=column)
        return _utc_seconds(pd.DatetimeIndex(stamps), self.zone, column, first_row)


def _rebatch(batches: list[pa.RecordBatch]) -> list[pa.RecordBatch]:
    """The rows of ``batches`` as batches of ``BATCH_ROWS`` (the last one shorter)."""
    if len(batches) == 1 and batches[0].num_rows <= BATCH_ROWS:
        return batches
    table = pa.Table.from_batches(batches).combine_chunks()
    return table.to_batches(max_chunksize=BATCH_ROWS)


def _csv_header(path: Path) -> list[str]:
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        line = handle.readline()
    if not line.strip():
        raise ImportRejected("the file is empty or has no header line")
    return next(csv.reader([line], delimiter=_delimiter(path)))


def _delimiter(path: Path) -> str:
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        line = handle.readline()
    return max((",", ";", "\t", "|"), key=line.count)


def _require_present(values: pa.Array, column: str, first_row: int) -> None:
    if values.null_count:
        row = int(np.flatnonzero(pc.is_null(values).to_numpy(zero_copy_only=False))[0])
        raise ImportRejected("is empty", row=first_row + row, column=column)


def _whole_seconds(values: pa.Array) -> np.ndarray | None:
    """Naive ISO times to whole seconds in C++ (``2024-01-02 09:30:00``, ``2024-01-02T09:30``,
    ``2024-01-02``), None when any value has another form (an offset, a fraction, a bad date):
    then pandas parses them. Arrow's ISO parser is stricter than pandas' and, where it accepts
    a value, reads the same time."""
    try:
        return pc.cast(values, pa.timestamp("s")).to_numpy(zero_copy_only=False)
    except pa.ArrowException:
        return None


def _epoch_seconds(values: np.ndarray, column: str, first_row: int) -> np.ndarray:
    """Epoch numbers to seconds; their unit (s, ms, us, ns) told apart by size."""
    numbers = np.asarray(values, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(numbers))
    if bad.size:
        raise ImportRejected("is not a time", row=first_row + int(bad[0]), column=column)
    biggest = float(np.abs(numbers).max()) if numbers.size else 0.0
    scale = next(s for limit, s in ((1e11, 1), (1e14, 10**3), (1e17, 10**6), (np.inf, 10**9))
                 if biggest < limit)
    if np.asarray(values).dtype.kind in "iu":
        return np.asarray(values, dtype=np.int64) // scale
    return np.floor(numbers / scale).astype(np.int64)


def _utc_seconds(stamps: pd.DatetimeIndex, zone: ZoneInfo, column: str,
                 first_row: int) -> np.ndarray:
    """UTC epoch seconds of pandas times: aware ones as they are, naive ones in ``zone``."""
    if stamps.tz is None:
        localized = stamps.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
        bad = np.flatnonzero(localized.isna())
        if bad.size:
            raise ImportRejected(
                f"{stamps[bad[0]]} does not exist or is ambiguous in {zone.key} (a DST change): "
                "give the time with its UTC offset", row=first_row + int(bad[0]), column=column)
        stamps = localized
    bad = np.flatnonzero(stamps.isna())
    if bad.size:
        raise ImportRejected("is empty", row=first_row + int(bad[0]), column=column)
    return stamps.as_unit("s").asi8.astype(np.int64, copy=False)
