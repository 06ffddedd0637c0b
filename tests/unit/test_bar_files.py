"""Imported files: reading (headers, time forms, zones), the checks, and the durable store."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from feeds.files.bar_file import BarFile
from feeds.files.errors import ImportRejected
from feeds.files.importing import import_file, read_checked
from feeds.files.store import ImportedStore, SymbolConflict, file_symbol

NY = ZoneInfo("America/New_York")


def _frame(times, **columns) -> pd.DataFrame:
    n = len(times)
    close = np.linspace(10, 11, n)
    base = {"Open": close, "High": close + 0.1, "Low": close - 0.1, "Close": close,
            "Volume": np.full(n, 100.0)}
    return pd.DataFrame({"Date": times, **base, **columns})


def _read(path: Path, zone: ZoneInfo = NY) -> tuple[np.ndarray, int]:
    batches = []
    checked = read_checked(path, zone, None, batches.append)
    return np.concatenate([b.t for b in batches]), checked.resolution_s


@pytest.mark.parametrize(("header", "expected"), [
    (["timestamp", "o", "h", "l", "c", "v"], "timestamp"),
    (["Datetime", "OPEN", "High", "Low", "Close", "Vol"], "Datetime"),
    ([" date ", "open", "high", "low", "last", "volume"], " date "),
])
def test_common_headers_are_recognised(tmp_path, header, expected):
    path = tmp_path / "bars.csv"
    path.write_text(",".join(header) + "\n2024-01-02,1,2,0.5,1.5,10\n")
    assert BarFile(path, NY).columns.time == expected


def test_a_file_without_a_price_column_is_refused(tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text("Date,Open,High,Close\n2024-01-02,1,2,1.5\n")
    with pytest.raises(ImportRejected, match="no low column"):
        BarFile(path, NY)


def test_naive_times_are_wall_times_of_the_zone_and_offsets_are_absolute(tmp_path):
    naive = tmp_path / "naive.csv"
    _frame(["2024-07-01 09:30:00", "2024-07-01 09:31:00"]).to_csv(naive, index=False)
    aware = tmp_path / "aware.csv"
    _frame(["2024-07-01T13:30:00Z", "2024-07-01T09:31:00-04:00"]).to_csv(aware, index=False)
    expected = [1719840600, 1719840660]
    assert _read(naive)[0].tolist() == expected
    assert _read(aware, ZoneInfo("Asia/Tokyo"))[0].tolist() == expected
    assert _read(naive, ZoneInfo("UTC"))[0].tolist() == [t - 4 * 3600 for t in expected]


@pytest.mark.parametrize("scale", [1, 10**3, 10**6, 10**9])
def test_epoch_times_in_any_unit(tmp_path, scale):
    path = tmp_path / "epoch.parquet"
    _frame(np.array([1719840600, 1719840660]) * scale).to_parquet(path)
    t, resolution = _read(path)
    assert t.tolist() == [1719840600, 1719840660] and resolution == 60


def test_a_wall_time_a_dst_change_skips_is_refused(tmp_path):
    path = tmp_path / "dst.csv"
    _frame(["2024-03-10 01:59:00", "2024-03-10 02:30:00"]).to_csv(path, index=False)
    with pytest.raises(ImportRejected, match="does not exist or is ambiguous") as caught:
        _read(path)
    assert (caught.value.row, caught.value.column) == (2, "Date")


def test_daily_bars_are_one_day_apart_in_wall_time_across_dst(tmp_path):
    path = tmp_path / "daily.csv"
    _frame([str(day.date()) for day in pd.bdate_range("2024-03-01", "2024-03-29")]).to_csv(
        path, index=False)
    assert _read(path)[1] == 86400


def test_a_declared_resolution_coarser_than_the_bars_is_refused(tmp_path):
    path = tmp_path / "bars.csv"
    _frame(["2024-07-01 09:30:00", "2024-07-01 09:31:00"]).to_csv(path, index=False)
    with pytest.raises(ImportRejected, match="closer than the resolution 5m"):
        read_checked(path, NY, 300, lambda _: None)


def test_a_time_after_now_is_refused(tmp_path):
    path = tmp_path / "future.csv"
    _frame(["2024-07-01 09:30:00", "2099-07-01 09:31:00"]).to_csv(path, index=False)
    with pytest.raises(ImportRejected, match="in the future") as caught:
        _read(path)
    assert caught.value.row == 2


def test_a_semicolon_csv_is_read(tmp_path):
    path = tmp_path / "semi.csv"
    _frame(["2024-07-01 09:30:00", "2024-07-01 09:31:00"]).to_csv(path, index=False, sep=";")
    assert _read(path)[1] == 60


def _minutes(day: str, seed: int) -> pd.DataFrame:
    times = pd.date_range(f"{day} 09:30", periods=30, freq="1min").strftime("%Y-%m-%d %H:%M")
    frame = _frame(list(times))
    frame["Close"] = frame["Close"] + seed
    frame["Open"], frame["High"], frame["Low"] = (frame["Close"], frame["Close"] + 1,
                                                  frame["Close"] - 1)
    return frame


def test_the_store_replaces_whole_days_and_keeps_the_others(tmp_path):
    store = ImportedStore(tmp_path / "store")
    first = tmp_path / "first.csv"
    pd.concat([_minutes("2023-12-29", 0), _minutes("2024-01-02", 0)]).to_csv(first, index=False)
    import_file(store, "import-one", first, "abc", "America/New_York")
    second = tmp_path / "second.csv"
    pd.concat([_minutes("2024-01-02", 5), _minutes("2024-01-03", 5)]).to_csv(second, index=False)
    result = import_file(store, "import-two", second, "abc", "America/New_York")
    assert result.replaced_days == 1 and result.entry.years == (2023, 2024)
    bars = store.read("file:ABC", 0, 2**40)
    assert bars.t.size == 90
    assert bars.c[:30].tolist() == _minutes("2023-12-29", 0)["Close"].tolist()
    assert bars.c[30:].tolist() == pd.concat([_minutes("2024-01-02", 5),
                                              _minutes("2024-01-03", 5)])["Close"].tolist()
    generations = list((tmp_path / "store" / "bars" / "ABC").iterdir())
    assert [g.name for g in generations] == [f"g{result.entry.generation}"]


def test_a_failed_import_leaves_the_symbol_as_it_was(tmp_path):
    store = ImportedStore(tmp_path / "store")
    good = tmp_path / "good.csv"
    _minutes("2024-01-02", 0).to_csv(good, index=False)
    before = import_file(store, "import-one", good, "abc", "America/New_York").entry
    bad = tmp_path / "bad.csv"
    frame = _minutes("2024-01-02", 9)
    frame.loc[20, "Low"] = frame.loc[20, "Close"] + 1
    frame.to_csv(bad, index=False)
    with pytest.raises(ImportRejected, match="row 21, column Low"):
        import_file(store, "import-two", bad, "abc", "America/New_York")
    assert store.entry("file:ABC") == before
    assert store.read("file:ABC", 0, 2**40).c.tolist() == _minutes("2024-01-02", 0)[
        "Close"].tolist()
    assert not any((tmp_path / "store" / "staging").iterdir())
    with pytest.raises(SymbolConflict, match="delete file:ABC first"):
        import_file(store, "import-three", good, "abc", "UTC")


def test_a_store_reopened_keeps_its_symbols_and_drops_what_a_crash_left(tmp_path):
    store = ImportedStore(tmp_path / "store")
    path = tmp_path / "bars.csv"
    _minutes("2024-01-02", 0).to_csv(path, index=False)
    entry = import_file(store, "import-one", path, "abc", "America/New_York").entry
    (tmp_path / "store" / "staging" / "import-crashed").mkdir()
    (tmp_path / "store" / "bars" / "ABC" / "g1").mkdir()
    reopened = ImportedStore(tmp_path / "store")
    assert reopened.entry("file:abc") == entry
    assert len(reopened.read("file:ABC", 0, 2**40)) == 30
    assert not any((tmp_path / "store" / "staging").iterdir())
    assert not (tmp_path / "store" / "bars" / "ABC" / "g1").exists()
    assert reopened.delete("file:ABC") and not reopened.delete("file:ABC")


@pytest.mark.parametrize("name", ["", "../x", "a/b", "x" * 31, ".hidden"])
def test_file_symbol_names_are_safe_paths(name):
    with pytest.raises(ValueError):
        file_symbol(name)
