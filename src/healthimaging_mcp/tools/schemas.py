"""The published form of tool schemas: what a model needs to call a tool, without pydantic's boilerplate.

Every tools/list costs context in every conversation, so the schemas are compacted on the way out:
generated titles, `null` alternatives and `default: null` go (an omitted argument means "not given"),
string length limits and patterns go (the server instructions state the ID format once, descriptions say what
else a value looks like; the server still validates arguments and explains violations), and output schemas keep
their top-level fields with types while nested objects are described by their type only (the structured content
carries the details; fields without a value are left out of it). The server still validates arguments and
answers against the full models.
"""

from __future__ import annotations

from typing import Any

_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA = ("items", "not")
_NULL = {"type": "null"}
_UNPUBLISHED_INPUT = {"title", "minLength", "maxLength", "pattern", "patternProperties", "propertyNames"}


def compact_input(schema: dict[str, Any]) -> dict[str, Any]:
    """An input schema without titles, null alternatives, `default: null`, string length limits and patterns."""
    compact: dict[str, Any] = _compact(schema, drop=_UNPUBLISHED_INPUT)
    return compact


def compact_output(schema: dict[str, Any]) -> dict[str, Any]:
    """An output schema: top-level fields with their types; nested objects reduced to `object`."""
    top: dict[str, Any] = _compact(
        schema, drop={"title", "description", "default", "additionalProperties", "$defs", "required"}
    )
    properties = top.get("properties", {})
    top["properties"] = {name: _shallow(value) for name, value in properties.items()}
    return top


def _compact(schema: Any, drop: set[str]) -> Any:
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in drop or (key == "default" and value is None):
            continue
        if key in ("properties", "$defs"):
            out[key] = {name: _compact(sub, drop) for name, sub in value.items()}
        elif key in _SUBSCHEMA or (key == "additionalProperties" and isinstance(value, dict)):
            out[key] = _compact(value, drop)
        elif key in _SUBSCHEMA_LISTS:
            out[key] = [_compact(sub, drop) for sub in value]
        else:
            out[key] = value
    variants = out.get("anyOf")
    if isinstance(variants, list) and len(variants) == 2 and _NULL in variants:
        (kept,) = [v for v in variants if v != _NULL]
        del out["anyOf"]
        out = {**kept, **out}
    return out


def _shallow(schema: dict[str, Any]) -> dict[str, Any]:
    """A property schema in which every model reference is reduced to its type (object, or array of them)."""
    if not _refers(schema):
        return schema
    return {"type": schema.get("type", "object")}


def _refers(schema: Any) -> bool:
    if isinstance(schema, dict):
        return "$ref" in schema or any(_refers(value) for value in schema.values())
    if isinstance(schema, list):
        return any(_refers(value) for value in schema)
    return False
