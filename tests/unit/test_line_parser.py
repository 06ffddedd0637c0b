"""The Numba line parsers on hand-written lines: both protocol versions, chunking, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from feeds.iqfeed import line_parser as lp

RID = np.frombuffer(b"R1", dtype=np.uint8)


def _bars(text: bytes, capacity: int = 8):
    buf = np.frombuffer(text, dtype=np.uint8)
    out = [np.zeros(capacity, np.int64)] + [np.zeros(capacity) for _ in range(5)]
    rows, pos, code = lp.parse_bar_chunk(buf, 0, buf.size, RID, *out, 0)
    return rows, pos, code, out


@pytest.mark.parametrize("head", [b"R1,LH,", b"R1,"])
def test_bar_line_fields(head):
    line = head + b"2024-07-01 09:30:00,101.25,100.5,100.75,101,12345,678,9,\r\n"
    rows, pos, code, (t, o, h, l, c, v) = _bars(line + b"R1,!ENDMSG!,\r\n")
    assert (rows, code, pos) == (1, lp.END, len(line))
    assert t[0] == int(np.datetime64("2024-07-01T09:30:00", "s").astype(np.int64))
    assert (o[0], h[0], l[0], c[0], v[0]) == (100.75, 101.25, 100.5, 101.0, 678.0)


def test_numbers_equal_python_floats():
    values = ["0.0001", "123.4567", "99999.99", "-2.5", "7", "1234567.891"]
    line = b"R1,LH,2024-07-01 09:30:00," + ",".join(values[:4]).encode() + b",1,5,1,\r\n"
    _, _, _, (_, o, h, l, c, _) = _bars(line)
    assert [h[0], l[0], o[0], c[0]] == [float(x) for x in values[:4]]


def test_incomplete_line_waits_for_more_bytes():
    full = b"R1,LH,2024-07-01 09:30:00,1,1,1,1,1,1,1,\r\n"
    rows, pos, code, _ = _bars(full + full[:17])
    assert (rows, pos, code) == (1, len(full), lp.CONTINUE)


def test_full_outputs_stop_before_the_line():
    line = b"R1,LH,2024-07-01 09:30:00,1,1,1,1,1,1,1,\r\n"
    rows, pos, code, _ = _bars(line * 3, capacity=2)
    assert (rows, pos, code) == (2, 2 * len(line), lp.FULL)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (b"R1,E,!NO_DATA!,\r\n", lp.ERROR),
        (b"E,!SYNTAX_ERROR!,\r\n", lp.ERROR),
        (b"R2,LH,2024-07-01 09:30:00,1,1,1,1,1,1,1,\r\n", lp.BAD_LINE),  # another request
        (b"R1,LH,2024-07-01 9:30:00,1,1,1,1,1,1,1,\r\n", lp.BAD_LINE),
        (b"R1,LH,2024-07-01 09:30:00,1,x,1,1,1,1,1,\r\n", lp.BAD_LINE),
        (b"R1,LH,2024-07-01 09:30:00,1,1,1,1,1,1,zz,\r\n", lp.CONTINUE),  # trades: not read
        (b"R1,LH,2024-07-01 09:30:00,1,1\r\n", lp.BAD_LINE),  # cut short
        (b"R1,LH,2024-07-01 09:30:00,1,,1,1,1,1,1,\r\n", lp.BAD_LINE),  # empty price
        (b"R1,LH,2024-07-01 25:30:00,1,1,1,1,1,1,1,\r\n", lp.BAD_LINE),  # no such hour
        (b"R1,LH,2024-13-01 09:30:00,1,1,1,1,1,1,1,\r\n", lp.BAD_LINE),  # no such month
        (b"R1,LH,2024-07-01 09:30:00X1,1,1,1,1,1,1,\r\n", lp.BAD_LINE),  # bad separator
    ],
)
def test_non_data_lines_stop_the_kernel(text, code):
    rows, pos, got, _ = _bars(text)
    assert got == code
    if code != lp.CONTINUE:
        assert (rows, pos) == (0, 0)


def test_tick_with_non_digit_microseconds_is_bad():
    tick = b"R1,LH,2024-07-01 09:30:00.12x456,10.5,200,5000,10.49,10.51,777,C,11,01,\r\n"
    buf = np.frombuffer(tick, dtype=np.uint8)
    out = [np.zeros(2, np.int64), np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2),
           np.zeros(2, np.int64)]
    assert lp.parse_tick_chunk(buf, 0, buf.size, RID, *out, 0)[2] == lp.BAD_LINE


def test_tick_and_daily_lines():
    tick = b"R1,LH,2024-07-01 09:30:00.123456,10.5,200,5000,10.49,10.51,777,C,11,01,\r\n"
    buf = np.frombuffer(tick, dtype=np.uint8)
    out = [np.zeros(2, np.int64), np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2),
           np.zeros(2, np.int64)]
    rows, _, _ = lp.parse_tick_chunk(buf, 0, buf.size, RID, *out, 0)
    base = int(np.datetime64("2024-07-01T09:30:00", "s").astype(np.int64))
    assert rows == 1 and out[0][0] == base * 1_000_000 + 123456
    assert [out[1][0], out[2][0], out[3][0], out[4][0], out[5][0]] == [10.5, 200, 10.49, 10.51, 777]

    daily = b"R1,2024-07-01,11,9,10,10.5,123456,0,\r\n"
    buf = np.frombuffer(daily, dtype=np.uint8)
    out = [np.zeros(2, np.int64)] + [np.zeros(2) for _ in range(5)]
    rows, _, _ = lp.parse_daily_chunk(buf, 0, buf.size, RID, *out, 0)
    assert rows == 1 and out[0][0] == base - 9 * 3600 - 1800
    assert [o[0] for o in out[1:]] == [10, 11, 9, 10.5, 123456]


@pytest.mark.parametrize("head", [b"R1,LH,", b"R1,"])
def test_tick_lines_of_protocol_6_1_and_later_carry_aggressor_and_day_code(head):
    tick = head + (b"2018-04-17 17:51:22.123456,96.07,1061909,0,0.0000,0.0000,4145784264,"
                   b"O,19,143A,2,17,")
    buf = np.frombuffer(tick + b"\r\n" + b"R1,!ENDMSG!,\r\n", dtype=np.uint8)
    out = [np.zeros(2, np.int64), np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2),
           np.zeros(2, np.int64)]
    rows, pos, code = lp.parse_tick_chunk(buf, 0, buf.size, RID, *out, 0)
    assert (rows, pos, code) == (1, len(tick) + 2, lp.END)
    assert (out[1][0], out[2][0], out[5][0]) == (96.07, 1061909, 4145784264)


@pytest.mark.parametrize("head", [b"R1,LH,", b"R1,"])
def test_weekly_and_monthly_lines_read_as_daily_lines(head):
    line = head + b"2026-03-06,686.5,671.25,680,684.75,270748454,0,\r\n"
    buf = np.frombuffer(line, dtype=np.uint8)
    out = [np.zeros(2, np.int64)] + [np.zeros(2) for _ in range(5)]
    rows, _, code = lp.parse_daily_chunk(buf, 0, buf.size, RID, *out, 0)
    assert (rows, code) == (1, lp.CONTINUE)
    assert out[0][0] == int(np.datetime64("2026-03-06", "s").astype(np.int64))
    assert [o[0] for o in out[1:]] == [680, 686.5, 671.25, 684.75, 270748454]
