"""REST-JSON wire format, driven by the service model: bind requests, serialize responses and errors.

Requests are bound member by member from the URI labels, query string, headers and JSON body exactly where the
model says they travel. Responses are checked against the output shape before they leave (unknown or
missing members are a server bug, reported as InternalServerException), so casing and types match what
botocore parses.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from ..errors import InternalError, ServiceError, ValidationError
from .routes import error_status

log = logging.getLogger(__name__)


@dataclass
class HttpRequest:
    method: str
    raw_path: str
    raw_query: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    server: str | None = None  # "host:port" the listener accepted the request on


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


# ---------------------------------------------------------------- requests


def bind_request(op: OperationModel, labels: dict[str, str], request: HttpRequest) -> dict[str, Any]:
    """Turn an HTTP request into the operation's input parameters (python values, timestamps as epoch floats)."""
    shape = op.input_shape
    if shape is None:
        return {}
    payload_member = shape.serialization.get("payload")
    body = _parse_body(request.body) if request.body else None
    params: dict[str, Any] = {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        if location == "uri":
            if wire_name in labels:
                params[name] = _from_text(member, labels[wire_name], name)
        elif location == "querystring":
            values = request.query.get(wire_name)
            if values:
                if isinstance(member, ListShape):
                    params[name] = [_from_text(member.member, v, name) for v in values]
                else:
                    params[name] = _from_text(member, values[-1], name)
        elif location == "header":
            if wire_name.lower() in request.headers:
                params[name] = _from_text(member, request.headers[wire_name.lower()], name)
        elif name == payload_member:
            if body is not None:
                params[name] = _from_json(member, body, name)
        elif isinstance(body, dict) and name in body and body[name] is not None:
            params[name] = _from_json(member, body[name], name)
    return params


def _parse_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"Request body is not valid JSON: {exc}") from None


def _from_text(shape: Shape, text: str, path: str) -> Any:
    kind = shape.type_name
    if kind in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            raise ValidationError(f"Value '{text}' at '{path}' must be an integer") from None
    if kind == "boolean":
        if text not in ("true", "false"):
            raise ValidationError(f"Value '{text}' at '{path}' must be 'true' or 'false'")
        return text == "true"
    if kind == "timestamp":
        return _timestamp(text, path)
    return text


def _from_json(shape: Shape, value: Any, path: str) -> Any:
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            raise ValidationError(f"Value at '{path}' must be an object")
        return {
            name: _from_json(member, value[name], f"{path}.{name}")
            for name, member in shape.members.items()
            if value.get(name) is not None
        }
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            raise ValidationError(f"Value at '{path}' must be a list")
        return [_from_json(shape.member, item, f"{path}.member") for item in value]
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            raise ValidationError(f"Value at '{path}' must be a map")
        return {str(k): _from_json(shape.value, v, f"{path}.{k}") for k, v in value.items()}
    kind = shape.type_name
    if kind == "string" and isinstance(value, str):
        return value
    if kind in ("integer", "long") and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "timestamp":
        return _timestamp(value, path)
    if kind == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError(f"Value at '{path}' must be base64-encoded") from None
    raise ValidationError(f"Value at '{path}' has the wrong type: expected {kind}")


def _timestamp(value: Any, path: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(f"Value '{value}' at '{path}' is not a valid timestamp") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.timestamp()
    raise ValidationError(f"Value at '{path}' is not a valid timestamp")


# ---------------------------------------------------------------- responses


def serialize_response(op: OperationModel, output: dict[str, Any], request_id: str) -> HttpResponse:
    """Render handler output through the output shape; raise InternalError when it does not fit the model."""
    headers = {"x-amzn-RequestId": request_id}
    shape = op.output_shape
    if shape is None:
        return HttpResponse(200, {**headers, "Content-Type": "application/json"}, b"{}")
    _check_members(shape, output, "output")
    payload_member = shape.serialization.get("payload")
    body: dict[str, Any] = {}
    raw_body: bytes | None = None
    for name, member in shape.members.items():
        if name not in output or output[name] is None:
            continue
        value = output[name]
        location = member.serialization.get("location")
        if location == "header":
            headers[member.serialization.get("name", name)] = str(value)
        elif name == payload_member:
            if member.type_name == "blob":
                raw_body = bytes(value)
            else:
                body = _to_json(member, value, name)
        else:
            body[name] = _to_json(member, value, name)
    if raw_body is not None:
        headers.setdefault("Content-Type", "application/octet-stream")
        return HttpResponse(200, headers, raw_body)
    headers["Content-Type"] = "application/json"
    return HttpResponse(200, headers, json.dumps(body, separators=(",", ":")).encode())


def _check_members(shape: StructureShape, value: dict[str, Any], path: str) -> None:
    unknown = set(value) - set(shape.members)
    if unknown:
        raise InternalError(f"server bug: {path} has members not in the model: {sorted(unknown)}")
    missing = [name for name in shape.required_members if value.get(name) is None]
    if missing:
        raise InternalError(f"server bug: {path} lacks required members {missing}")


def _to_json(shape: Shape, value: Any, path: str) -> Any:
    if isinstance(shape, StructureShape):
        _check_members(shape, value, path)
        return {
            name: _to_json(member, value[name], f"{path}.{name}")
            for name, member in shape.members.items()
            if value.get(name) is not None
        }
    if isinstance(shape, ListShape):
        return [_to_json(shape.member, item, f"{path}[]") for item in value]
    if isinstance(shape, MapShape):
        return {k: _to_json(shape.value, v, f"{path}.{k}") for k, v in value.items()}
    kind = shape.type_name
    if kind == "timestamp":
        if isinstance(value, datetime):
            value = value.timestamp()
        return round(float(value), 3)
    if kind == "blob":
        return base64.b64encode(value).decode()
    expected: dict[str, type | tuple[type, ...]] = {
        "string": str,
        "integer": int,
        "long": int,
        "boolean": bool,
    }
    wanted = expected.get(kind)
    if wanted is not None and (not isinstance(value, wanted) or (kind != "boolean" and isinstance(value, bool))):
        raise InternalError(f"server bug: {path} must be {kind}, got {type(value).__name__}")
    return value


def error_response(error: ServiceError, request_id: str) -> HttpResponse:
    body = json.dumps({"message": error.message}).encode()
    headers = {
        "x-amzn-RequestId": request_id,
        "x-amzn-ErrorType": error.code,
        "Content-Type": "application/json",
    }
    return HttpResponse(error.status or error_status(error.code), headers, body)


def new_request_id() -> str:
    return str(uuid.uuid4())
