"""Output budgets for metadata answers: fit whole items into a character budget, shorten long values.

Sizes are measured as the compact JSON a pydantic model dumps (``model_dump_json(exclude_none=True)``):
no spaces, items of a list joined by a comma. Items are never cut in half: a list is shortened by
dropping whole items from its end, and a single value is shortened with an explicit marker.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from healthimaging_mcp.dicom.keys import vr_of

__all__ = [
    "BINARY_VRS",
    "MAX_DEPTH",
    "MAX_ITEMS",
    "MAX_TEXT",
    "fit_model",
    "fit_to_budget",
    "json_size",
    "kept_items",
    "shorten_value",
]

T = TypeVar("T")

MAX_TEXT = 200
"""Strings longer than this are cut, with a marker giving the full length."""
MAX_ITEMS = 16
"""Lists longer than this keep their first items and end with a marker giving the full count."""
MAX_DEPTH = 2
"""Sequences nested deeper than this (a top-level sequence is depth 1) become a marker."""
BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN", "OB or OW", "US or OW"})
"""VRs whose JSON value is base64: never handed to a model, replaced by a size marker."""


def json_size(item: Any) -> int:
    """Characters of ``item`` as compact JSON (models: ``model_dump_json(exclude_none=True)``)."""
    if isinstance(item, BaseModel):
        return len(item.model_dump_json(exclude_none=True))
    return len(json.dumps(item, separators=(",", ":"), ensure_ascii=False, default=str))


def fit_to_budget(
    items: Sequence[T],
    *,
    budget_chars: int,
    fixed_chars: int,
    size: Callable[[T], int] = json_size,
    min_items: int = 0,
) -> int:
    """How many leading ``items`` fit in ``budget_chars`` next to ``fixed_chars`` of other output.

    ``fixed_chars`` is the size of the answer with the list empty (``[]`` included); each item adds its
    size plus one comma after the first. At least ``min_items`` are kept (so paging always moves on),
    even when they overflow the budget.
    """
    used = fixed_chars
    count = 0
    for item in items:
        used += size(item) + (1 if count else 0)
        if used > budget_chars and count >= min_items:
            break
        count += 1
    return count


def _items_marker(count: int) -> str:
    return f"…(truncated, {count} items)"


_ITEMS_MARKER = re.compile(r"…\(truncated, (\d+) items\)")


def kept_items(value: list[Any]) -> tuple[list[Any], int]:
    """The items a shortened list kept (without its truncation marker), and how many the full list had."""
    last = value[-1] if value else None
    match = _ITEMS_MARKER.fullmatch(last) if isinstance(last, str) else None
    if match is None:
        return value, len(value)
    return value[:-1], int(match.group(1))


def _marker_text(text: str) -> str:
    return f"{text[:MAX_TEXT]}…(truncated, {len(text)} chars)"


def _binary_marker(value: Any) -> str:
    if isinstance(value, str):
        stripped = value.rstrip("=")
        return f"…(binary, {len(stripped) * 3 // 4} bytes)"
    return "…(binary)"


def shorten_value(value: Any, *, vr: str | None = None, depth: int = 0) -> Any:
    """A JSON value made safe to show: long text, long lists, base64 and deep sequences get markers.

    DICOM padding (trailing spaces and NULs) is removed from strings.

    ``depth`` is how deep ``value`` sits: 0 for a top-level attribute value, +1 inside each sequence item.
    """
    if vr in BINARY_VRS and value is not None:
        return _binary_marker(value)
    if isinstance(value, str):
        value = value.rstrip(" \x00")
        return _marker_text(value) if len(value) > MAX_TEXT else value
    if isinstance(value, list):
        is_sequence = any(isinstance(item, Mapping) for item in value)
        if is_sequence and depth >= MAX_DEPTH:
            return f"…(sequence, {len(value)} items)"
        kept = [shorten_value(item, vr=vr if not is_sequence else None, depth=depth + 1) for item in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            kept.append(_items_marker(len(value)))
        return kept
    if isinstance(value, Mapping):
        return {key: shorten_value(item, vr=vr_of(key), depth=depth) for key, item in value.items()}
    return value


M = TypeVar("M", bound=BaseModel)

_SLACK = 16
"""Characters kept free for counters that grow once the item count is known (offsets, totals)."""


def fit_model(build: Callable[[int], M], items: Sequence[Any], *, budget_chars: int, min_items: int = 0) -> M:
    """The answer ``build(count)`` holding as many leading ``items`` as fit in ``budget_chars``.

    ``build(count)`` must make the answer with the first ``count`` items (and set its truncation and
    continuation fields from ``count``). The result is measured once more, so it never exceeds the budget
    unless ``min_items`` forces it.
    """
    fixed = json_size(build(0))
    count = fit_to_budget(items, budget_chars=budget_chars - _SLACK, fixed_chars=fixed, min_items=min_items)
    answer = build(count)
    while count > min_items and json_size(answer) > budget_chars:
        count -= 1
        answer = build(count)
    return answer
