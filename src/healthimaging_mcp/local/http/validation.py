"""Server-side validation of bound request parameters against the model's constraints.

botocore checks only required members, types and minimums on the client; the real service also enforces
maximums, patterns and enums. Messages follow the service's wording. Values of sensitive members (PHI) are
never echoed back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from ..errors import ValidationError


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    # The model uses Java regex syntax; \p{ASCII} is the only construct Python lacks.
    return re.compile(pattern.replace(r"\p{ASCII}", r"[\x00-\x7F]"), re.DOTALL)


def validate(shape: StructureShape, params: dict[str, Any]) -> None:
    """Raise ValidationError listing every constraint the parameters break."""
    problems = list(_check_structure(shape, params, ""))
    if problems:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        raise ValidationError(f"{count} validation {noun} detected: " + "; ".join(problems))


def _describe(shape: Shape, value: Any, path: str) -> str:
    if shape.metadata.get("sensitive") or isinstance(value, (dict, list, bytes)):
        return f"Value at '{path}'"
    return f"Value '{value}' at '{path}'"


def _check_structure(shape: StructureShape, value: dict[str, Any], path: str) -> Iterator[str]:
    prefix = f"{path}." if path else ""
    for name in shape.required_members:
        if value.get(name) is None:
            yield f"Value null at '{prefix}{name}' failed to satisfy constraint: Member must not be null"
    if shape.metadata.get("union"):
        present = [name for name in shape.members if value.get(name) is not None]
        if len(present) != 1:
            where = path or shape.name
            yield f"'{where}' must have exactly one member set, found {len(present)}"
    for name, member in shape.members.items():
        item = value.get(name)
        if item is not None:
            yield from _check(member, item, f"{prefix}{name}")


def _check(shape: Shape, value: Any, path: str) -> Iterator[str]:
    if isinstance(shape, StructureShape):
        yield from _check_structure(shape, value, path)
        return
    if isinstance(shape, ListShape):
        yield from _check_length(shape, value, path)
        for index, item in enumerate(value, start=1):
            yield from _check(shape.member, item, f"{path}.{index}.member")
        return
    if isinstance(shape, MapShape):
        for key, item in value.items():
            yield from _check(shape.key, key, f"{path}.key")
            yield from _check(shape.value, item, f"{path}.{key}")
        return
    kind = shape.type_name
    if kind == "string":
        yield from _check_length(shape, value, path)
        pattern = shape.metadata.get("pattern")
        if pattern and not _compiled(pattern).fullmatch(value):
            yield (
                f"{_describe(shape, value, path)} failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {pattern}"
            )
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            yield (
                f"{_describe(shape, value, path)} failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(enum)}]"
            )
    elif kind in ("integer", "long"):
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and value < low:
            yield f"{_describe(shape, value, path)} failed to satisfy constraint: Member must be >= {low}"
        if high is not None and value > high:
            yield f"{_describe(shape, value, path)} failed to satisfy constraint: Member must be <= {high}"
    elif kind == "blob":
        yield from _check_length(shape, value, path)


def _check_length(shape: Shape, value: Any, path: str) -> Iterator[str]:
    size = len(value)
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        yield (
            f"{_describe(shape, value, path)} failed to satisfy constraint: "
            f"Member must have length greater than or equal to {low}"
        )
    if high is not None and size > high:
        yield (
            f"{_describe(shape, value, path)} failed to satisfy constraint: "
            f"Member must have length less than or equal to {high}"
        )
