"""App-only tools (`_meta.ui.visibility == ["app"]`) are for the viewer, never for the model.

A host that speaks MCP Apps hides them from its model itself, so it gets the full list. A client without Apps has
no view to serve: it would show them to its model as ordinary tools, paid for in its context and useless there, so
its tools/list leaves them out (calling them still works, as for any tool).
"""

from __future__ import annotations

from typing import Any

from mcp.server.apps import client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.types import ListToolsResult, Tool


def app_only(tool: Tool | dict[str, Any]) -> bool:
    """Whether a tool (model or wire form) is visible to apps only."""
    meta = tool.meta if isinstance(tool, Tool) else tool.get("_meta")
    ui = (meta or {}).get("ui")
    return isinstance(ui, dict) and ui.get("visibility") == ["app"]


class AppOnlyToolsHidden(ServerMiddleware[Any]):
    """tools/list without app-only tools for clients that did not negotiate MCP Apps."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method != "tools/list" or client_supports_apps(ctx):
            return result
        if isinstance(result, ListToolsResult):
            result.tools = [tool for tool in result.tools if not app_only(tool)]
        elif isinstance(result, dict):
            result["tools"] = [tool for tool in result.get("tools", []) if not app_only(tool)]
        return result
