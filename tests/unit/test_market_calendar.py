"""NYSE calendar: holidays, early closes, observance rules, trading days, DST-correct sessions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from feeds.market_calendar import (
    early_closes,
    is_early_close,
    is_trading_day,
    nyse_holidays,
    regular_close,
    session_bounds_utc,
    trading_days,
)


def _utc(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


def test_holidays_2024_exact() -> None:
    expected = {
        date(2024, 1, 1), date(2024, 1, 15), date(2024, 2, 19), date(2024, 3, 29),
        date(2024, 5, 27), date(2024, 6, 19), date(2024, 7, 4), date(2024, 9, 2),
        date(2024, 11, 28), date(2024, 12, 25),
    }  # fmt: skip
    assert nyse_holidays(2024) == expected


def test_holidays_2025_exact() -> None:
    expected = {
        date(2025, 1, 1), date(2025, 1, 20), date(2025, 2, 17), date(2025, 4, 18),
        date(2025, 5, 26), date(2025, 6, 19), date(2025, 7, 4), date(2025, 9, 1),
        date(2025, 11, 27), date(2025, 12, 25),
    }  # fmt: skip
    assert nyse_holidays(2025) == expected


def test_saturday_christmas_observed_on_friday() -> None:
    assert date(2021, 12, 24) in nyse_holidays(2021)
    assert not is_trading_day(date(2021, 12, 24))


def test_saturday_new_year_not_observed_on_prior_friday() -> None:
    assert date(2021, 12, 31) not in nyse_holidays(2021)
    assert is_trading_day(date(2021, 12, 31))
    assert all(d.month != 1 or d.day > 2 for d in nyse_holidays(2022))


def test_sunday_new_year_observed_on_monday() -> None:
    assert date(2023, 1, 2) in nyse_holidays(2023)
    assert not is_trading_day(date(2023, 1, 2))
    assert is_trading_day(date(2023, 1, 3))


def test_juneteenth_starts_in_2022() -> None:
    assert all(d.month != 6 for d in nyse_holidays(2021))
    assert is_trading_day(date(2021, 6, 18))
    assert date(2022, 6, 20) in nyse_holidays(2022)  # Sunday June 19 -> Monday


@pytest.mark.parametrize(
    ("year", "good_friday"),
    [(2019, date(2019, 4, 19)), (2022, date(2022, 4, 15)), (2026, date(2026, 4, 3))],
)
def test_good_friday(year: int, good_friday: date) -> None:
    assert good_friday in nyse_holidays(year)


def test_trading_days_skip_weekend_and_holiday() -> None:
    # Fri 2024-06-14 .. Mon 2024-06-24: weekends and Juneteenth (Wed) excluded.
    days = trading_days(date(2024, 6, 14), date(2024, 6, 24))
    assert days == [
        date(2024, 6, 14), date(2024, 6, 17), date(2024, 6, 18), date(2024, 6, 20),
        date(2024, 6, 21), date(2024, 6, 24),
    ]  # fmt: skip


def test_trading_days_inclusive_and_empty() -> None:
    assert trading_days(date(2024, 7, 3), date(2024, 7, 3)) == [date(2024, 7, 3)]
    assert trading_days(date(2024, 7, 4), date(2024, 7, 4)) == []
    assert trading_days(date(2024, 7, 10), date(2024, 7, 9)) == []
    assert len(trading_days(date(2024, 1, 1), date(2024, 12, 31))) == 252


def test_session_bounds_est_and_edt() -> None:
    assert session_bounds_utc(date(2024, 1, 10)) == (
        _utc(2024, 1, 10, 14, 30),
        _utc(2024, 1, 10, 21),
    )
    assert session_bounds_utc(date(2024, 7, 10)) == (
        _utc(2024, 7, 10, 13, 30),
        _utc(2024, 7, 10, 20),
    )
    assert session_bounds_utc(date(2024, 1, 10), extended=True) == (
        _utc(2024, 1, 10, 9),
        _utc(2024, 1, 11, 1),
    )
    assert session_bounds_utc(date(2024, 7, 10), extended=True) == (
        _utc(2024, 7, 10, 8),
        _utc(2024, 7, 11, 0),
    )


def test_session_bounds_across_dst_changes() -> None:
    # DST began Sunday 2024-03-10 and ended Sunday 2024-11-03.
    assert session_bounds_utc(date(2024, 3, 8))[0] == _utc(2024, 3, 8, 14, 30)
    assert session_bounds_utc(date(2024, 3, 11))[0] == _utc(2024, 3, 11, 13, 30)
    assert session_bounds_utc(date(2024, 11, 1))[0] == _utc(2024, 11, 1, 13, 30)
    assert session_bounds_utc(date(2024, 11, 4))[0] == _utc(2024, 11, 4, 14, 30)
    open_, close = session_bounds_utc(date(2024, 3, 11))
    assert close - open_ == 6 * 3600 + 1800


# Early closes as NYSE Group published them (holiday and early-closings calendars, 2018-2028).
PUBLISHED_EARLY_CLOSES = {
    2018: {date(2018, 7, 3), date(2018, 11, 23), date(2018, 12, 24)},
    2019: {date(2019, 7, 3), date(2019, 11, 29), date(2019, 12, 24)},
    2020: {date(2020, 11, 27), date(2020, 12, 24)},  # Fri 3 Jul: Independence Day observed
    2021: {date(2021, 11, 26)},  # Sun 4 Jul, Fri 24 Dec: Christmas observed
    2022: {date(2022, 11, 25)},  # Mon 4 Jul: Fri 1 Jul is a full day; Sat 24 Dec
    2023: {date(2023, 7, 3), date(2023, 11, 24)},  # Sun 24 Dec
    2024: {date(2024, 7, 3), date(2024, 11, 29), date(2024, 12, 24)},
    2025: {date(2025, 7, 3), date(2025, 11, 28), date(2025, 12, 24)},
    2026: {date(2026, 11, 27), date(2026, 12, 24)},  # Fri 3 Jul: Independence Day observed
    2027: {date(2027, 11, 26)},  # Sat 3 Jul; Fri 24 Dec: Christmas observed
    2028: {date(2028, 7, 3), date(2028, 11, 24)},  # Sun 24 Dec
}


@pytest.mark.parametrize("year", sorted(PUBLISHED_EARLY_CLOSES))
def test_early_closes_match_published_lists(year: int) -> None:
    assert early_closes(year) == PUBLISHED_EARLY_CLOSES[year]


def test_early_closes_2026() -> None:
    assert early_closes(2026) == {date(2026, 11, 27), date(2026, 12, 24)}
    assert not is_trading_day(date(2026, 7, 3))  # 4 July is a Saturday: observed on Friday
    assert not is_early_close(date(2026, 7, 3))
    assert not is_early_close(date(2026, 7, 2))


def test_early_closes_are_trading_days_that_are_not_holidays() -> None:
    for year in range(1995, 2046):
        days = early_closes(year)
        assert 1 <= len(days) <= 3
        assert all(is_trading_day(d) and d not in nyse_holidays(year) for d in days)


def test_thursday_independence_day_before_and_after_2013() -> None:
    # Until 2012 the early close followed a Thursday 4 July; from 2013 it precedes it.
    assert is_early_close(date(2002, 7, 5)) and not is_early_close(date(2002, 7, 3))
    assert is_early_close(date(2013, 7, 3)) and not is_early_close(date(2013, 7, 5))
    assert is_early_close(date(2024, 7, 3)) and not is_early_close(date(2024, 7, 5))


def test_regular_close() -> None:
    assert regular_close(date(2026, 11, 27)) == time(13, 0)
    assert regular_close(date(2026, 12, 24)) == time(13, 0)
    assert regular_close(date(2026, 11, 25)) == time(16, 0)
    assert regular_close(date(2026, 12, 23)) == time(16, 0)
    assert not is_early_close(date(2026, 11, 26))  # Thanksgiving itself is closed


def test_session_bounds_on_early_close_days_est() -> None:
    # EST (UTC-5): 09:30-13:00 regular, 04:00-17:00 extended.
    day = date(2026, 11, 27)
    assert session_bounds_utc(day) == (_utc(2026, 11, 27, 14, 30), _utc(2026, 11, 27, 18))
    assert session_bounds_utc(day, extended=True) == (
        _utc(2026, 11, 27, 9),
        _utc(2026, 11, 27, 22),
    )
    christmas_eve = date(2024, 12, 24)
    assert session_bounds_utc(christmas_eve) == (
        _utc(2024, 12, 24, 14, 30),
        _utc(2024, 12, 24, 18),
    )


def test_session_bounds_on_early_close_days_edt() -> None:
    # EDT (UTC-4): 3 July closes at 17:00 UTC, its late session at 21:00 UTC.
    day = date(2025, 7, 3)
    assert session_bounds_utc(day) == (_utc(2025, 7, 3, 13, 30), _utc(2025, 7, 3, 17))
    assert session_bounds_utc(day, extended=True) == (_utc(2025, 7, 3, 8), _utc(2025, 7, 3, 21))
    open_, close = session_bounds_utc(day)
    assert close - open_ == 3 * 3600 + 1800


def test_full_day_next_to_early_close_keeps_full_hours() -> None:
    day = date(2025, 7, 2)
    assert session_bounds_utc(day) == (_utc(2025, 7, 2, 13, 30), _utc(2025, 7, 2, 20))
    assert session_bounds_utc(day, extended=True)[1] == _utc(2025, 7, 3, 0)
