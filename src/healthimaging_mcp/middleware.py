"""Gives every tool failure the same typed JSON shape, including failures raised before our code runs.

Argument validation (pydantic), unknown tool names and crashes are produced by the SDK; this middleware
rewrites their text into the `{"error": {"type": ...}}` form our own errors use.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.types import CallToolResult, TextContent

from .errors import ErrorType, HealthImagingError

_PREFIX = re.compile(r"^Error executing tool (?P<tool>[A-Za-z0-9._-]+)(?:: )?(?P<rest>.*)$", re.DOTALL)
_PYDANTIC_TAIL = re.compile(r"\s*\[type=.*\]$")  # pydantic's error type and an echo of the rejected value


def _typed(text: str, tool: str | None) -> str:
    if text.startswith('{"error"'):
        return text
    match = _PREFIX.match(text)
    if match:
        tool, rest = match["tool"], match["rest"]
        if rest.startswith('{"error"'):
            return rest
        if "validation error" in rest:
            error = HealthImagingError(
                ErrorType.VALIDATION,
                _compact_validation(rest),
                next_step="Fix the named argument(s) to match the tool's input schema and call again.",
            )
        elif not rest:
            error = HealthImagingError(
                ErrorType.INTERNAL, "The tool failed unexpectedly (logged on the server's stderr).", next_step="Retry."
            )
        else:
            error = HealthImagingError(ErrorType.SERVICE, rest)
        return error.to_text(tool)
    if text.startswith("Unknown tool"):
        error = HealthImagingError(
            ErrorType.VALIDATION,
            text,
            next_step="List the tools again; write tools exist only when the server runs with --allow-write.",
        )
        return error.to_text(tool)
    return HealthImagingError(ErrorType.INTERNAL, text).to_text(tool)


def _compact_validation(text: str) -> str:
    """pydantic's report as `argument: problem; ...`, without its error types, value echoes and links."""
    problems: list[str] = []
    location = ""
    for line in text.splitlines()[1:]:  # the first line counts the errors and names the model
        if line.startswith("    ") or not line.strip():  # "For further information visit ..."
            continue
        if line.startswith("  "):
            problem = _PYDANTIC_TAIL.sub("", line.strip())
            problems.append(f"{location}: {problem}" if location else problem)
            location = ""
        else:
            location = line.strip()
    return "; ".join(problems)[:1000] or text[:1000]


class TypedToolErrors(ServerMiddleware[Any]):
    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method != "tools/call":
            return result
        tool = ctx.params.get("name") if isinstance(ctx.params, dict) else None
        if isinstance(result, CallToolResult) and result.is_error:
            for block in result.content:
                if isinstance(block, TextContent):
                    block.text = _typed(block.text, tool)
        elif isinstance(result, dict) and result.get("isError"):
            for block in result.get("content", []):
                if block.get("type") == "text":
                    block["text"] = _typed(block["text"], tool)
        return result


def error_payload(text: str) -> dict[str, Any]:
    """Parse the JSON error a tool answered with (for tests and clients)."""
    data: dict[str, Any] = json.loads(text)["error"]
    return data
