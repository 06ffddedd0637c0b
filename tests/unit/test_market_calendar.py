"""NYSE calendar: holidays, observance rules, trading-day ranges and DST-correct sessions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from feeds.market_calendar import (
    is_trading_day,
    nyse_holidays,
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
