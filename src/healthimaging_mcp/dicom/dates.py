"""DICOM DA/TM strings in readable ISO forms, falling back to the raw text when they do not parse."""

from __future__ import annotations

import re
from typing import Any

from healthimaging_mcp.dicom.values import as_text

__all__ = ["iso_date", "iso_time"]

_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DATE_DOTTED = re.compile(r"(\d{4})[.\-](\d{2})[.\-](\d{2})")  # ACR-NEMA "1999.01.31" and ISO
_TIME = re.compile(r"(\d{2})(?::?(\d{2})(?::?(\d{2}))?)?(?:\.\d*)?")


def iso_date(value: Any) -> str | None:
    """``"20240105"`` → ``"2024-01-05"``; unparseable text is returned stripped, absent → ``None``."""
    text = as_text(value)
    if text is None:
        return None
    match = _DATE.fullmatch(text) or _DATE_DOTTED.fullmatch(text)
    if match is None:
        return text
    year, month, day = match.groups()
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31):
        return text
    return f"{year}-{month}-{day}"


def iso_time(value: Any) -> str | None:
    """``"101500.123"`` → ``"10:15:00"``, ``"1015"`` → ``"10:15"``; unparseable text is returned stripped."""
    text = as_text(value)
    if text is None:
        return None
    match = _TIME.fullmatch(text)
    if match is None:
        return text
    hours, minutes, seconds = match.groups()
    if int(hours) > 23 or (minutes is not None and int(minutes) > 59) or (seconds is not None and int(seconds) > 60):
        return text
    return ":".join(part for part in (hours, minutes, seconds) if part is not None)
