# ruff: noqa: N999  (the module is named for what it measures: python -m bench.import)
"""Importing a file of 1-second bars: ours vs ``pandas.read_csv`` / ``pyarrow.parquet.read_table``.

Data: 10,000,000 1-second OHLCV bars (regular sessions 09:30-16:00 of consecutive weekdays from
2023-01-02, ~428 days, a random walk with valid OHLC), written once into a temporary folder as
a CSV (``Datetime`` naive ISO ``YYYY-MM-DD HH:MM:SS``, New York wall time) and as a Parquet
file (``Datetime`` a naive timestamp column, row groups of 1M rows). Each measurement runs in a
fresh subprocess so that its peak RSS (``ru_maxrss``) is its own:

- ours: :func:`feeds.files.importing.import_file` into a fresh
  :class:`~feeds.files.store.ImportedStore` (read in batches, times to UTC, every check, staged
  to disk, committed with fsync). In the platform the same ``read_checked`` runs in the /data
  replica and stages through the ``bar-files`` actor; here it all runs in one process.
- peers: ``pandas.read_csv(path, parse_dates=["Datetime"])`` (naive times, no checks, nothing
  written) and ``pyarrow.parquet.read_table(path)``.

Printed per measurement: rows/s, seconds (and CPU seconds, user + sys of all threads: steadier
than wall time on a busy machine), peak RSS and the RSS after imports (the interpreter
with numpy/pandas/pyarrow loaded), the peak as a multiple of the bars' in-memory size (rows x 6
columns x 8 bytes), and ours/peer for time. One run each, files in the page cache. Target: peak
memory of an import <= ~2x the data, whatever the file's length.

``python -m bench.import [--rows N] [--keep DIR]`` (env ``BENCH_IMPORT_ROWS``); ``--keep`` makes
and reuses the files in DIR instead of a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DEFAULT_ROWS = 10_000_000
SESSION_S = 6 * 3600 + 1800
OPEN_S = 9 * 3600 + 1800
CHUNK_ROWS = 1 << 20
ZONE = "America/New_York"
FIRST_UTC = 1672669800  # 2023-01-02 14:30 UTC, the first bar
_MB = 1e6  # decimal MB: 10M rows x 6 x 8 bytes = 480 MB
_FORMAT = "v1"  # bump when the generated files change, so a --keep folder is made again


def _rss_mb() -> float:
    """Peak RSS of this process so far, MB: VmHWM (ru_maxrss would count the parent's RSS at
    the fork, which Linux carries over into the child)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / _MB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / _MB  # KiB on Linux


# -- the files ----------------------------------------------------------------------------------


def _weekdays(count: int) -> np.ndarray:
    days = np.arange(np.datetime64("2023-01-02"), np.datetime64("2023-01-02") + count * 2,
                     dtype="datetime64[D]")
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday: Monday is 0
    return days[weekday < 5][:count].astype(np.int64)


def _chunks(rows: int):
    """Deterministic bars in chunks: naive wall seconds and OHLCV."""
    import pyarrow as pa

    rng = np.random.default_rng(13)
    days = _weekdays(-(-rows // SESSION_S))
    last_close = 500.0
    for start in range(0, rows, CHUNK_ROWS):
        index = np.arange(start, min(start + CHUNK_ROWS, rows), dtype=np.int64)
        wall = days[index // SESSION_S] * 86400 + OPEN_S + index % SESSION_S
        close = (last_close + np.cumsum(rng.normal(0, 0.01, index.size))).round(2)
        open_ = np.r_[last_close, close[:-1]]
        top, bottom = np.maximum(open_, close), np.minimum(open_, close)
        high = np.maximum((top + rng.random(index.size) * 0.05).round(2), top)
        low = np.minimum((bottom - rng.random(index.size) * 0.05).round(2), bottom)
        volume = rng.integers(1, 1000, index.size).astype(np.float64)
        last_close = float(close[-1])
        stamps = pa.array(wall, type=pa.timestamp("s"))
        yield stamps, {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": volume}


def make_files(folder: Path, rows: int) -> tuple[Path, Path]:
    """Write (or reuse) ``bars.csv`` and ``bars.parquet`` of ``rows`` bars in ``folder``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    csv_path, parquet_path = folder / "bars.csv", folder / "bars.parquet"
    stamp = folder / f"rows-{rows}-{_FORMAT}"
    if stamp.exists() and csv_path.exists() and parquet_path.exists():
        return csv_path, parquet_path
    folder.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    csv_writer = parquet_writer = None
    for stamps, prices in _chunks(rows):
        text = pc.strftime(stamps, format="%Y-%m-%d %H:%M:%S")
        csv_table = pa.table({"Datetime": text, **prices})
        parquet_table = pa.table({"Datetime": stamps.cast(pa.timestamp("ns")), **prices})
        if csv_writer is None:
            csv_file = csv_path.open("wb")
            csv_file.write((",".join(csv_table.column_names) + "\n").encode())
            options = pacsv.WriteOptions(include_header=False, quoting_style="none")
            csv_writer = pacsv.CSVWriter(csv_file, csv_table.schema, write_options=options)
            parquet_writer = pq.ParquetWriter(parquet_path, parquet_table.schema)
        csv_writer.write_table(csv_table)
        parquet_writer.write_table(parquet_table)
    csv_writer.close()
    csv_file.close()
    parquet_writer.close()
    stamp.touch()
    print(f"made the files in {time.perf_counter() - began:.1f} s", flush=True)
    return csv_path, parquet_path


# -- one measurement (in its own process) --------------------------------------------------------


def _measure_ours(path: Path, work: Path) -> dict:
    from feeds.files.importing import import_file
    from feeds.files.store import ImportedStore

    phases = {"stage": 0.0, "commit": 0.0, "rss_before_commit": 0.0}

    class TimedStore(ImportedStore):
        def stage(self, import_id, bars):
            began = time.perf_counter()
            super().stage(import_id, bars)
            phases["stage"] += time.perf_counter() - began

        def commit(self, *args, **kwargs):
            phases["rss_before_commit"] = _rss_mb()
            began = time.perf_counter()
            try:
                return super().commit(*args, **kwargs)
            finally:
                phases["commit"] += time.perf_counter() - began

    store = TimedStore(work / "store")
    baseline = _rss_mb()
    began = time.perf_counter()
    result = import_file(store, "bench-import", path, "BENCH", ZONE)
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "rows": result.entry.bars, "first": result.entry.first,
            "baseline_mb": baseline, "peak_mb": _rss_mb(), **phases}


def _measure_pandas(path: Path) -> dict:
    import pandas as pd

    baseline = _rss_mb()
    began = time.perf_counter()
    frame = pd.read_csv(path, parse_dates=["Datetime"])
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "rows": len(frame), "baseline_mb": baseline, "peak_mb": _rss_mb()}


def _measure_pyarrow(path: Path) -> dict:
    import pyarrow.parquet as pq

    baseline = _rss_mb()
    began = time.perf_counter()
    table = pq.read_table(path)
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "rows": table.num_rows, "baseline_mb": baseline,
            "peak_mb": _rss_mb()}


def _child(kind: str, path: Path, work: Path) -> None:
    import pandas  # noqa: F401  (every child pays for the same imports before it is timed)
    import pyarrow.parquet  # noqa: F401

    cpu = _cpu_s()
    if kind == "ours":
        result = _measure_ours(path, work)
    elif kind == "pandas":
        result = _measure_pandas(path)
    else:
        result = _measure_pyarrow(path)
    print(json.dumps({**result, "cpu_s": _cpu_s() - cpu}))


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _run(kind: str, path: Path, work: Path) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.import", "--child", kind, str(path), str(work)],
            check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as error:
        raise RuntimeError(f"{kind} on {path.name} failed:\n{error.stderr[-2000:]}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the report -----------------------------------------------------------------------------------


def _line(name: str, result: dict, rows: int) -> str:
    data_mb = rows * 6 * 8 / _MB
    return (f"{name:<44}{rows / result['seconds'] / 1e6:>7.2f}M rows/s{result['seconds']:>8.2f} s"
            f" (cpu {result['cpu_s']:5.2f} s){result['peak_mb']:>6.0f} MB"
            f"{result['peak_mb'] / data_mb:>6.2f}x data"
            f" (after imports {result['baseline_mb']:.0f} MB,"
            f" {(result['peak_mb'] - result['baseline_mb']) / data_mb:.2f}x data above)")


def _report(rows: int, kind: str, ours: dict, peer_name: str, peer: dict) -> None:
    assert ours["rows"] == rows and peer["rows"] == rows, (ours["rows"], peer["rows"], rows)
    assert ours["first"] == FIRST_UTC, ours["first"]  # 2023-01-02 09:30 New York
    print(_line(f"ours: import_file of the {kind}", ours, rows))
    read = ours["seconds"] - ours["stage"] - ours["commit"]
    print(f"{'':<6}read+check {read:.2f} s, stage (append to staging files) {ours['stage']:.2f} s,"
          f" commit {ours['commit']:.2f} s; peak RSS before the commit "
          f"{ours['rss_before_commit']:.0f} MB")
    print(_line(peer_name, peer, rows))
    print(f"{'':<6}ours/peer time {ours['seconds'] / peer['seconds']:.2f}x, peak RSS "
          f"{ours['peak_mb'] / peer['peak_mb']:.2f}x", flush=True)


def main(argv: list[str] | None = None) -> None:
    """Make the files, measure the four reads each in a fresh process, print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.import")
    parser.add_argument("--rows", type=int,
                        default=int(os.environ.get("BENCH_IMPORT_ROWS", DEFAULT_ROWS)))
    parser.add_argument("--keep", type=Path, help="make and reuse the files in this folder")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, path, work = args.child
        _child(kind, Path(path), Path(work))
        return
    rows = args.rows
    with tempfile.TemporaryDirectory(prefix="bench-import-") as temporary:
        folder = args.keep or Path(temporary)
        csv_path, parquet_path = make_files(folder, rows)
        data_mb = rows * 6 * 8 / _MB
        sizes = [path.stat().st_size / _MB for path in (csv_path, parquet_path)]
        print(f"{rows:,} 1-second bars ({-(-rows // SESSION_S)} sessions 09:30-16:00 {ZONE}); "
              f"in memory {data_mb:.0f} MB (6 x 8 bytes a row); CSV {sizes[0]:.0f} MB, "
              f"Parquet {sizes[1]:.0f} MB")
        print("ours runs in-process here (in the platform: read_checked in the /data replica, "
              "staging through the bar-files actor); each line is one fresh process, one run")
        work = Path(temporary) / "work"
        ours = _run("ours", csv_path, work)
        peer = _run("pandas", csv_path, work)
        _report(rows, "CSV", ours, 'pandas.read_csv(parse_dates=["Datetime"])', peer)
        ours = _run("ours", parquet_path, work)
        peer = _run("pyarrow", parquet_path, work)
        _report(rows, "Parquet", ours, "pyarrow.parquet.read_table", peer)


if __name__ == "__main__":
    main()
