"""Types the failures the SDK answers before (or around) our tool code, in the shape our own errors have.

Our tools answer their failures themselves (`tools.registry.bind`). What remains is what the SDK produces as
plain text: argument validation (`Error executing tool NAME: N validation error(s) ...`), unknown tool names
(`Unknown tool: NAME`), crashes outside a tool body (`Error executing tool NAME`) and resolver failures. This
middleware rewrites exactly that wording (tests/mcp/test_mcp_errors.py pins it) into `{"error": {"type": ...}}`;
any other error text is left as it is.
"""

from __future__ import annotations

import re
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.types import CallToolResult, TextContent

from .errors import ErrorType, HealthImagingError

SDK_TOOL_FAILURE = re.compile(r"^Error executing tool (?P<tool>[A-Za-z0-9._-]+)(?:: (?P<rest>.*))?$", re.DOTALL)
SDK_UNKNOWN_TOOL = re.compile(r"^Unknown tool: (?P<tool>.*)$", re.DOTALL)
_PYDANTIC_TAIL = re.compile(r"\s*\[type=.*\]$")  # pydantic's error type and an echo of the rejected value


def typed_sdk_failure(text: str) -> HealthImagingError | None:
    """The typed error for a failure text in the SDK's wording; None for any other text."""
    failure = SDK_TOOL_FAILURE.match(text)
    if failure is not None:
        rest = failure["rest"]
        if not rest:
            return HealthImagingError(
                ErrorType.INTERNAL, "The tool failed unexpectedly (logged on the server's stderr).", next_step="Retry."
            )
        if "validation error" in rest:
            return HealthImagingError(
                ErrorType.VALIDATION,
                _compact_validation(rest),
                next_step="Fix the named argument(s) to match the tool's input schema and call again.",
            )
        return HealthImagingError(ErrorType.SERVICE, rest)
    if SDK_UNKNOWN_TOOL.match(text):
        return HealthImagingError(
            ErrorType.VALIDATION,
            text,
            next_step="List the tools again; write tools exist only when the server runs with --allow-write.",
        )
    return None


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

        def typed(text: str) -> str:
            error = typed_sdk_failure(text)
            return text if error is None else error.to_text(tool)

        if isinstance(result, CallToolResult) and result.is_error:  # the result model, or its wire form
            for block in result.content:
                if isinstance(block, TextContent):
                    block.text = typed(block.text)
        elif isinstance(result, dict) and result.get("isError"):
            for item in result.get("content", []):
                if item.get("type") == "text":
                    item["text"] = typed(item["text"])
        return result
