"""What is for the viewer only stays out of the lists of clients without MCP Apps.

App-only tools (`_meta.ui.visibility == ["app"]`) serve the view, never the model. A host that speaks MCP Apps
hides them from its model itself, so it gets the full list. A client without Apps has no view to serve: it would
show them to its model as ordinary tools, paid for in its context and useless there. Likewise the view's page
(`text/html;profile=mcp-app`, about 590 KB) is no resource for such a client to offer its user. Both are left out
of those clients' tools/list and resources/list (called or read by name, they still answer).
"""

from __future__ import annotations

from typing import Any

from mcp.server.apps import APP_MIME_TYPE, client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.types import ListResourcesResult, ListToolsResult, Resource, Tool


def app_only(tool: Tool | dict[str, Any]) -> bool:
    """Whether a tool (model or wire form) is visible to apps only."""
    meta = tool.meta if isinstance(tool, Tool) else tool.get("_meta")
    ui = (meta or {}).get("ui")
    return isinstance(ui, dict) and ui.get("visibility") == ["app"]


def app_page(resource: Resource | dict[str, Any]) -> bool:
    """Whether a resource (model or wire form) is an MCP App's page."""
    mime_type = resource.mime_type if isinstance(resource, Resource) else resource.get("mimeType")
    return mime_type == APP_MIME_TYPE


class AppOnlyItemsHidden(ServerMiddleware[Any]):
    """tools/list and resources/list without what only views use, for clients that did not negotiate MCP Apps."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method not in ("tools/list", "resources/list") or client_supports_apps(ctx):
            return result
        if isinstance(result, ListToolsResult):
            result.tools = [tool for tool in result.tools if not app_only(tool)]
        elif isinstance(result, ListResourcesResult):
            result.resources = [resource for resource in result.resources if not app_page(resource)]
        elif isinstance(result, dict) and "tools" in result:
            result["tools"] = [tool for tool in result["tools"] if not app_only(tool)]
        elif isinstance(result, dict) and "resources" in result:
            result["resources"] = [resource for resource in result["resources"] if not app_page(resource)]
        return result
