"""Eastern wall time <-> UTC, across both DST changes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from feeds.eastern_time import eastern_to_utc, format_request_time, utc_to_eastern

NY = ZoneInfo("America/New_York")


def wall(text: str) -> int:
    """Naive wall time text -> seconds since 1970-01-01."""
    return int((datetime.fromisoformat(text) - datetime(1970, 1, 1)).total_seconds())


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        ("2024-01-02 09:30:00", "2024-01-02 14:30:00"),
        ("2024-07-01 09:30:00", "2024-07-01 13:30:00"),
        ("2024-03-10 01:59:59", "2024-03-10 06:59:59"),  # last EST second
        ("2024-03-10 03:00:00", "2024-03-10 07:00:00"),  # first EDT second
        ("2024-11-03 00:59:59", "2024-11-03 04:59:59"),
        ("2024-11-03 01:30:00", "2024-11-03 05:30:00"),  # repeated hour: first occurrence
        ("2024-11-03 02:00:00", "2024-11-03 07:00:00"),
    ],
)
def test_eastern_to_utc(local, utc):
    assert eastern_to_utc(np.array([wall(local)]))[0] == wall(utc)


def test_round_trip_over_a_year_of_minutes_outside_the_repeated_hour():
    utc = np.arange(wall("2024-01-01 00:00:00"), wall("2025-01-01 00:00:00"), 60 * 7)
    local = utc_to_eastern(utc)
    expected = [
        int(datetime.fromtimestamp(int(t), NY).replace(tzinfo=None).timestamp()
            - datetime(1970, 1, 1).timestamp())
        for t in utc[::97]
    ]
    assert local[::97].tolist() == expected
    ambiguous = (local >= wall("2024-11-03 01:00:00")) & (local < wall("2024-11-03 02:00:00"))
    np.testing.assert_array_equal(eastern_to_utc(local[~ambiguous]), utc[~ambiguous])


def test_request_time_format():
    assert format_request_time(wall("2024-07-01 13:30:00")) == "20240701 093000"
