"""The fields of an import, validated (pure): FieldError names the bad one."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from deployments.common.errors import FieldError
from feeds.files.store import file_symbol
from feeds.files.validation import RESOLUTIONS_S, resolution_name

IMPORT_NAME_PATTERN = r"^([Ff][Ii][Ll][Ee]:)?[A-Za-z0-9][A-Za-z0-9._-]{0,29}$"
IMPORT_ID_PATTERN = r"^[A-Za-z0-9_-]{16,32}$"
_RESOLUTION = re.compile(r"([1-9][0-9]{0,4})([smhd])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SESSION = re.compile(r"([0-2][0-9]):([0-5][0-9])-([0-2][0-9]):([0-5][0-9])")


def parse_symbol(text: str) -> str:
    """``goog`` or ``file:GOOG`` -> ``file:GOOG``."""
    try:
        return file_symbol(text)
    except ValueError as error:
        raise FieldError("symbol", str(error)) from None


def parse_timezone(text: str) -> str:
    """An IANA zone name such as America/New_York or UTC."""
    try:
        return ZoneInfo(text.strip()).key
    except (ZoneInfoNotFoundError, ValueError):
        raise FieldError("timezone", f"unknown time zone {text!r}: use an IANA name such as "
                                     "America/New_York, Europe/London or UTC") from None


def parse_resolution(text: str | None) -> int | None:
    """``1m`` -> 60; blank -> None (detected from the file)."""
    if not text or not text.strip():
        return None
    match = _RESOLUTION.fullmatch(text.strip())
    seconds = int(match[1]) * _UNIT_S[match[2]] if match else 0
    if seconds not in RESOLUTIONS_S:
        allowed = ", ".join(resolution_name(s) for s in RESOLUTIONS_S)
        raise FieldError("resolution", f"must be one of {allowed} (or blank to detect it)")
    return seconds


def parse_session(text: str | None) -> tuple[int, int] | None:
    """``09:30-16:00`` -> (34200, 57600); blank -> None (a 24-hour market)."""
    if not text or not text.strip():
        return None
    match = _SESSION.fullmatch(text.strip())
    if not match:
        raise FieldError("session", "must look like 09:30-16:00 (or blank for 24 hours)")
    hours_a, minutes_a, hours_b, minutes_b = (int(part) for part in match.groups())
    opening, closing = hours_a * 3600 + minutes_a * 60, hours_b * 3600 + minutes_b * 60
    if not 0 <= opening < closing <= 86400:
        raise FieldError("session", "the open must come before the close, within one day")
    return opening, closing
