"""Read loosely typed metadata values: JSON numbers or DS/IS strings with padding.

HealthImaging documents keep DS/IS values as the original (padded) strings, while binary numbers are
JSON numbers. These helpers accept either form and answer ``None`` for anything they cannot read.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["as_float", "as_floats", "as_int", "as_text"]


def _single(value: Any) -> Any:
    """Unwrap a one-element list (a multi-VM attribute holding one value)."""
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def as_int(value: Any) -> int | None:
    """An integer from a JSON number or an IS/DS string like ``"3 "``; ``None`` if not integral."""
    value = _single(value)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            number = as_float(text)
            return int(number) if number is not None and number.is_integer() else None
    return None


def as_float(value: Any) -> float | None:
    """A finite float from a JSON number or a DS string like ``"-1024 "``; ``None`` otherwise."""
    value = _single(value)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def as_floats(value: Any) -> list[float] | None:
    """A list of floats from a JSON array, a single value or a backslash-joined DS string."""
    if value is None:
        return None
    if isinstance(value, str):
        items: list[Any] = value.split("\\")
    elif isinstance(value, list):
        items = value
    else:
        items = [value]
    numbers = [as_float(item) for item in items]
    if not numbers or any(number is None for number in numbers):
        return None
    return [number for number in numbers if number is not None]


def as_text(value: Any) -> str | None:
    """A string with DICOM padding (trailing spaces / NULs) removed; ``None`` for absent or empty."""
    value = _single(value)
    if value is None or isinstance(value, (dict, list)):
        return None
    text = value if isinstance(value, str) else str(value)
    text = text.rstrip(" \x00")
    return text or None
