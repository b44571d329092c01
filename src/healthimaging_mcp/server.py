"""Build the MCP server from Settings: tools (read-only unless writes are enabled) and resources."""

from __future__ import annotations

from typing import Any, cast

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE
from mcp.types import Tool
from starlette.applications import Starlette
from starlette.routing import Route

from . import __version__
from .apps.viewer import viewer_extension
from .apps.visibility import AppOnlyItemsHidden
from .malformed import AnswerMalformedPosts, serve_stdio
from .middleware import TypedToolErrors
from .resources import register_resources
from .runtime import Runtime
from .settings import LogLevel, Settings
from .tools import TOOLSETS
from .tools.registry import build_tools
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
    "Write tools are enabled. Destructive ones (delete_*, updates removing instances or series, study-wide "
    "removals) ask the user to confirm; never pass `confirm` without the user's explicit agreement."
)


class HealthImagingServer(MCPServer[Any]):
    """The MCP server of one Runtime: its tools and resources, compact tool schemas (tools/list is paid for in
    every conversation's context), and answers to malformed JSON-RPC messages on both transports (`malformed`)."""

    runtime: Runtime

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        super().__init__(
            "healthimaging",
            title="AWS HealthImaging",
            version=__version__,
            instructions=INSTRUCTIONS.format(mode=WRITE_NOTE if settings.allow_write else READ_ONLY_NOTE),
            tools=build_tools(runtime, TOOLSETS, allow_write=settings.allow_write),
            middleware=[TypedToolErrors(), AppOnlyItemsHidden()],
            extensions=[viewer_extension()],
            log_level=cast(LogLevel, settings.log_level),  # checked by Settings.validate
        )
        self.runtime = runtime
        register_resources(self, runtime)

    async def list_tools(self) -> list[Tool]:
        tools = await super().list_tools()
        return [
            tool.model_copy(
                update={
                    "input_schema": compact_input(tool.input_schema),
                    "output_schema": tool.output_schema and compact_output(tool.output_schema),
                }
            )
            for tool in tools
        ]

    async def run_stdio_async(self) -> None:
        server = self._lowlevel_server  # what MCPServer.run_stdio_async runs, over checked stdin
        await serve_stdio(lambda read, write: server.run(read, write, server.create_initialization_options()))

    def streamable_http_app(self, **options: Any) -> Starlette:
        app = super().streamable_http_app(**options)
        path = options.get("streamable_http_path", "/mcp")
        max_body = options.get("max_request_body_size", DEFAULT_MAX_REQUEST_BODY_SIZE)
        for route in app.routes:
            if isinstance(route, Route) and route.path == path:
                route.app = AnswerMalformedPosts(route.app, max_body)
        return app


def build_server(settings: Settings, runtime: Runtime | None = None) -> HealthImagingServer:
    """The server for `settings` (or for `runtime`, built from them, when given)."""
    return HealthImagingServer(runtime or Runtime(settings))
