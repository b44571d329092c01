"""Build the MCP server from Settings: tools (read-only unless writes are enabled) and resources."""

from __future__ import annotations

from typing import Any, cast

from mcp.server.auth.middleware.bearer_auth import RequireAuthMiddleware
from mcp.server.auth.routes import create_protected_resource_routes
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.request_state import RequestStateSecurity
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE
from mcp.types import CallToolResult, InputRequiredResult, TextContent, Tool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import __version__
from .apps.viewer import viewer_extension
from .apps.visibility import AppOnlyItemsHidden
from .deploy.audit import AuditLog
from .deploy.auth import (
    Capability,
    current_caller,
    missing_scope,
    required_capability,
    resource_server,
    scope_names,
)
from .deploy.calls import ToolCall
from .http_security import HEALTH_PATH
from .malformed import AnswerMalformedPosts, serve_stdio
from .middleware import TypedToolErrors
from .resources import register_resources
from .runtime import Runtime
from .settings import LogLevel, Settings
from .tools import TOOLSETS
from .tools.registry import build_tools, gated_tools, publishes_output_schema
from .tools.schemas import compact_input, compact_output

INSTRUCTIONS = """\
Tools for AWS HealthImaging (medical images stored as DICOM image sets).
Typical flow: list_datastores -> search_image_sets (by patient, accession, study/series UID or dates) ->
get_image_set_metadata (a compact summary of patient, study and series) -> get_image_frame.
IDs are 32 lowercase letters/digits and case-sensitive. datastore_id may be omitted when a default is configured
or only one datastore is ACTIVE; answers name the datastore used.
Errors come back as JSON with a `type` and a `next_step`. Results with next_token have more pages: call again
with that next_token (max_results sets the page size, 1-50).
{mode}"""

READ_ONLY_NOTE = "This server is read-only: tools that change or delete data are not available."
WRITE_NOTE = (
    "Write tools are enabled. Destructive ones (delete_*, change_image_sets plans, updates removing instances or "
    "series, study-wide removals) ask the user to confirm; never pass `confirm` without the user's explicit agreement."
)


class HealthImagingServer(MCPServer[Any]):
    """The MCP server of one Runtime: its tools and resources, compact tool schemas (tools/list is paid for in
    every conversation's context), answers to malformed JSON-RPC messages on both transports (`malformed`),
    and, over HTTP with auth configured, per caller the tools their token's scopes allow (`deploy.auth`)."""

    runtime: Runtime

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        tools = build_tools(runtime, TOOLSETS, allow_write=settings.allow_write)
        verifier, auth = resource_server(settings) if settings.auth_enabled else (None, None)
        super().__init__(
            "healthimaging",
            title="AWS HealthImaging",
            version=__version__,
            instructions=INSTRUCTIONS.format(mode=WRITE_NOTE if settings.allow_write else READ_ONLY_NOTE),
            tools=tools,
            middleware=[TypedToolErrors(), AppOnlyItemsHidden()],
            extensions=[viewer_extension()],
            log_level=cast(LogLevel, settings.log_level),  # checked by Settings.validate
            token_verifier=verifier,
            auth=auth,
            # Replicas share the key sealing 2026-07-28 request state (confirmations), else it is per process.
            request_state_security=RequestStateSecurity(keys=[settings.state_key]) if settings.state_key else None,
        )
        self.runtime = runtime
        self._scopes = scope_names(settings)
        gated = gated_tools(TOOLSETS)
        self._needs = {tool.name: required_capability(tool.annotations, gated=tool.name in gated) for tool in tools}
        self._shapes_published = {tool.name for tool in tools if publishes_output_schema(tool)}
        self.audit = AuditLog(settings.audit_log) if settings.audit_log else None
        register_resources(self, runtime)
        self.custom_route(HEALTH_PATH, methods=["GET"], include_in_schema=False)(_health)

    async def list_tools(self) -> list[Tool]:
        caller = current_caller(self._scopes)
        tools = [t for t in await super().list_tools() if caller.may(self._needs.get(t.name, Capability.DELETE))]
        return [
            tool.model_copy(
                update={
                    "input_schema": compact_input(tool.input_schema),
                    "output_schema": (
                        compact_output(tool.output_schema)
                        if tool.output_schema and tool.name in self._shapes_published
                        else None
                    ),
                }
            )
            for tool in tools
        ]

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """The tool's answer, or access_denied when the caller's token lacks the scope it needs; observed."""
        caller = current_caller(self._scopes)
        call = ToolCall.start(name, caller, arguments)
        needs = self._needs.get(name)
        if needs is not None and not caller.may(needs):
            result = _denied(name, self._scopes[needs])
            call.denied = True
            call.finish(result, None)
            self._observe(call)
            return result
        try:
            with call.serving():
                answer = await super().call_tool(name, arguments, context)
        except Exception as exc:  # the SDK answers it (unknown tool, invalid arguments, crash)
            call.finish(None, exc)
            self._observe(call)
            raise
        call.finish(answer, None)
        self._observe(call)
        return answer

    def _observe(self, call: ToolCall) -> None:
        if self.audit is not None:
            self.audit.record(call)
        self.runtime.telemetry.tool_call(call)

    async def run_stdio_async(self) -> None:
        server = self._lowlevel_server  # what MCPServer.run_stdio_async runs, over checked stdin
        await serve_stdio(lambda read, write: server.run(read, write, server.create_initialization_options()))

    def streamable_http_app(self, **options: Any) -> Starlette:
        """The SDK's app, with malformed messages answered (behind the token check: an unauthenticated client
        gets 401, not a JSON-RPC error) and the protected resource metadata listing every scope."""
        app = super().streamable_http_app(**options)
        path = options.get("streamable_http_path", "/mcp")
        max_body = options.get("max_request_body_size", DEFAULT_MAX_REQUEST_BODY_SIZE)
        for route in app.routes:
            if isinstance(route, Route) and route.path == path:
                if isinstance(route.app, RequireAuthMiddleware):
                    route.app.app = AnswerMalformedPosts(route.app.app, max_body)
                else:
                    route.app = AnswerMalformedPosts(route.app, max_body)
        auth = self.settings.auth
        if auth is not None and auth.resource_server_url is not None:
            (metadata,) = create_protected_resource_routes(
                resource_url=auth.resource_server_url,
                authorization_servers=[auth.issuer_url],
                scopes_supported=list(self._scopes.values()),
                resource_name="AWS HealthImaging MCP server",
            )
            app.router.routes = [metadata if _same_path(r, metadata) else r for r in app.router.routes]
        return app


def _same_path(route: Any, other: Route) -> bool:
    return isinstance(route, Route) and route.path == other.path


async def _health(request: Request) -> JSONResponse:
    """Liveness for load balancers and the container's HEALTHCHECK (no token, no AWS call)."""
    return JSONResponse({"status": "ok", "version": __version__})


def _denied(tool: str, scope: str) -> CallToolResult:
    error = missing_scope(scope, tool)
    return CallToolResult(content=[TextContent(type="text", text=error.to_text(tool))], is_error=True)


def build_server(settings: Settings, runtime: Runtime | None = None) -> HealthImagingServer:
    """The server for `settings` (or for `runtime`, built from them, when given)."""
    return HealthImagingServer(runtime or Runtime(settings))
