"""Malformed JSON-RPC messages get the error JSON-RPC 2.0 prescribes, where the SDK would leave them unanswered.

The SDK's stdio transport drops a line it cannot parse or validate (logged at DEBUG), and takes a request whose
`id` is an object, null, a fraction or a boolean for a notification: the client waits for an answer forever.
Its streamable HTTP transport (handshake era) answers invalid messages with -32602 and takes the same requests
for notifications (202 Accepted). Both transports are fronted here: a message that is not JSON is answered
with -32700 (Parse error), one that is not a valid request with -32600 (Invalid Request), both with `id: null`
unless a valid id could be read. Batches are not part of MCP and are refused as one invalid request.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from contextlib import suppress
from typing import Any

import anyio
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp.types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError, jsonrpc_message_adapter
from pydantic import ValidationError
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def rejection(raw: str | bytes) -> JSONRPCError | None:
    """The error answering `raw`, or None when it is a valid JSON-RPC message (the SDK serves it)."""
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError):
        return _error(None, PARSE_ERROR, "Parse error: the message is not valid JSON.")
    if isinstance(message, list):
        return _error(None, INVALID_REQUEST, "Invalid Request: batches are not supported; send one message at a time.")
    if not isinstance(message, dict):
        return _error(None, INVALID_REQUEST, "Invalid Request: a message is a JSON object.")
    request_id = message.get("id")
    known_id = request_id if _is_id(request_id) else None
    if "method" in message and "id" in message and known_id is None:
        return _error(None, INVALID_REQUEST, "Invalid Request: id must be a string or an integer.")
    try:
        jsonrpc_message_adapter.validate_python(message, by_name=False)
    except ValidationError:
        return _error(known_id, INVALID_REQUEST, f"Invalid Request: {_what_is_wrong(message)}.")
    return None


def _is_id(value: object) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _what_is_wrong(message: dict[str, Any]) -> str:
    if message.get("jsonrpc") != "2.0":
        return 'jsonrpc must be "2.0"'
    if "method" in message and not isinstance(message["method"], str):
        return "method must be a string"
    if "params" in message and not isinstance(message["params"], dict):
        return "params must be an object"
    return "not a JSON-RPC request, notification or response"


def _error(request_id: str | int | None, code: int, message: str) -> JSONRPCError:
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=code, message=message))


def _wire(error: JSONRPCError) -> bytes:
    return error.model_dump_json(by_alias=True, exclude_unset=True).encode()


# stdio


class _CheckedLines:
    """stdin's lines for the SDK's stdio transport, minus the malformed ones, which are answered instead."""

    def __init__(self, lines: AsyncIterable[str]) -> None:
        self._lines = lines
        self._ready = anyio.Event()
        self._answers: Any = None  # the transport's write stream, once it exists

    def answer_through(self, write_stream: Any) -> None:
        self._answers = write_stream
        self._ready.set()

    async def __aiter__(self) -> AsyncIterator[str]:
        async for line in self._lines:
            if not line.strip():
                continue  # no message at all
            error = rejection(line)
            if error is None:
                yield line
                continue
            await self._ready.wait()
            with suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
                await self._answers.send(SessionMessage(error))


async def serve_stdio(run: Callable[[Any, Any], Awaitable[None]]) -> None:
    """`run(read_stream, write_stream)` over stdin/stdout as the SDK's stdio transport does, with malformed
    lines answered. stdout is still claimed by the SDK (stray prints go to stderr); stdin is read here."""
    text = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    lines = _CheckedLines(anyio.wrap_file(text))
    try:
        async with stdio_server(stdin=lines) as (read_stream, write_stream):  # type: ignore[arg-type]
            lines.answer_through(write_stream)
            await run(read_stream, write_stream)
    finally:
        with suppress(ValueError):
            text.detach()  # sys.stdin stays open


# streamable HTTP


class AnswerMalformedPosts:
    """ASGI layer in front of the SDK's streamable HTTP endpoint: a JSON POST body that is not a valid
    JSON-RPC message is answered with HTTP 400 and the JSON-RPC error. Bodies over `max_body` bytes and
    everything else pass through untouched (the SDK enforces its size limit and content negotiation)."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more and size <= self.max_body:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
        body = b"".join(chunks)
        error = None if more else rejection(body)
        if error is not None:
            await Response(_wire(error), status_code=400, media_type="application/json")(scope, receive, send)
            return
        await self.app(scope, _replay(body, more, receive), send)


def _is_json(scope: Scope) -> bool:
    content_type = dict(scope.get("headers", [])).get(b"content-type", b"")
    return bool(content_type.split(b";")[0].strip().lower() == b"application/json")


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    """`receive` that first hands back the part of the body already read."""
    pending = [{"type": "http.request", "body": body, "more_body": more}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed
