"""QIDO-RS attribute matching (PS3.4 C.2.2.2 as DICOMweb uses it), on HealthImaging metadata values.

- Universal: an empty value (or ``*`` alone) matches everything, the attribute is only returned.
- UID list: ``uid1,uid2`` or ``uid1\\uid2`` matches any of them.
- Range: dates, times and date-times take ``low-high``, ``low-`` or ``-high`` (bounds included).
- Wildcards: ``*`` (any run of characters) and ``?`` (one character) in text values; exact match otherwise.
  Person names match case-insensitively, on the whole name or any of its component groups; other text
  is case-sensitive.
- Fuzzy (``fuzzymatching=true``): a person name matches when each word of the query starts a word of the
  name, ignoring case ("thomas" and "Albert" match THOMAS^ALBERT, "hom" does not).
- Numbers compare as numbers; a multi-valued attribute matches when one of its values does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ...dicom.values import as_float, as_list, as_text
from ..errors import ValidationError

Test = Callable[[Any], bool]

_NUMBER_VRS = frozenset({"IS", "DS", "US", "SS", "UL", "SL", "FL", "FD", "SV", "UV"})
_WORDS = re.compile(r"[\s^=,]+")
_TIME = re.compile(r"\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?")


@dataclass(frozen=True)
class MatchKey:
    """One query attribute: its metadata key, VR, the value asked for, and its test (None: universal)."""

    key: str
    vr: str
    text: str
    test: Test | None


def match_key(key: str, vr: str, text: str, *, fuzzy: bool = False, uid_list: bool = False) -> MatchKey:
    """Compile one query value; a malformed one is a ValidationError naming the attribute."""
    return MatchKey(key, vr, text, _compile(key, vr, text, fuzzy, uid_list or vr == "UI"))


def _compile(key: str, vr: str, text: str, fuzzy: bool, uid_list: bool) -> Test | None:
    if text in ("", "*"):
        return None
    if uid_list:
        wanted = frozenset(v.strip() for v in re.split(r"[,\\]", text) if v.strip())
        return lambda value: any(as_text(v) in wanted for v in as_list(value))
    if vr in ("DA", "TM", "DT"):
        return _date_time_test(key, vr, text)
    if vr in _NUMBER_VRS:
        number = as_float(text)
        if number is None:
            raise ValidationError(f"{key} takes a number, not '{text}'")
        return lambda value: any(as_float(v) == number for v in as_list(value))
    if vr == "PN":
        return _fuzzy_name_test(text) if fuzzy else _text_test(text, ignore_case=True, groups=True)
    return _text_test(text, ignore_case=False, groups=False)


def _values(value: Any) -> list[str]:
    return [text for text in (as_text(v) for v in as_list(value)) if text is not None]


def _text_test(text: str, *, ignore_case: bool, groups: bool) -> Test:
    pattern = _wildcard(text, ignore_case)

    def test(value: Any) -> bool:
        for candidate in _values(value):
            forms = [candidate, *candidate.split("=")] if groups and "=" in candidate else [candidate]
            if any(pattern.fullmatch(form) for form in forms):
                return True
        return False

    return test


@lru_cache(maxsize=256)
def _wildcard(text: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _fuzzy_name_test(text: str) -> Test:
    query_words = [_wildcard(word + ("" if word.endswith("*") else "*"), True) for word in _words(text)]

    def test(value: Any) -> bool:
        for candidate in _values(value):
            name_words = _words(candidate)
            if all(any(word.fullmatch(name) for name in name_words) for word in query_words):
                return True
        return False

    return test


def _words(text: str) -> list[str]:
    return [word for word in _WORDS.split(text) if word]


def _date_time_test(key: str, vr: str, text: str) -> Test:
    if "-" in text and not (vr == "DT" and text.count("-") > 1):
        low_text, high_text = text.split("-", 1)
        low = _bound(key, vr, low_text, high=False) if low_text else None
        high = _bound(key, vr, high_text, high=True) if high_text else None
        if low is not None and high is not None and low > high:
            raise ValidationError(f"{key} range '{text}' ends before it starts")
        return lambda value: any(
            (low is None or v >= low) and (high is None or v <= high)
            for v in (_comparable(vr, c) for c in _values(value))
            if v is not None
        )
    exact = _bound(key, vr, text, high=False)
    return lambda value: any(_comparable(vr, c) == exact for c in _values(value))


_FORMS = {
    "DA": "YYYYMMDD",
    "TM": "HHMMSS[.FFFFFF]",
    "DT": "YYYYMMDDHHMMSS[.FFFFFF]",
}


def _bound(key: str, vr: str, text: str, *, high: bool) -> str:
    value = _comparable(vr, text.strip(), high=high)
    if value is None:
        raise ValidationError(f"{key} takes {_FORMS[vr]} or a range of them (low-high), not '{text}'")
    return value


def _comparable(vr: str, text: str, *, high: bool = False) -> str | None:
    """A fixed-width string that orders like the date/time it writes (None when it writes none).

    A partial time is the start of its span as a value, or its end as the high bound of a range.
    """
    if vr == "DA":
        return text if len(text) == 8 and text.isdigit() else None
    if vr == "TM":
        return _time(text.replace(":", ""), high)
    date, time = text[:8], text[8:].split("+")[0].split("-")[0]
    if len(date) != 8 or not date.isdigit():
        return None
    padded = _time(time, high) if time else ("235959.999999" if high else "000000.000000")
    return None if padded is None else date + padded


def _time(text: str, high: bool) -> str | None:
    if not _TIME.fullmatch(text):
        return None
    whole, _, fraction = text.partition(".")
    filler = "9" if high and not fraction else "0"
    whole = whole + ("5959"[: 6 - len(whole)] if high else "0000"[: 6 - len(whole)])
    return f"{whole}.{fraction.ljust(6, filler)}"
