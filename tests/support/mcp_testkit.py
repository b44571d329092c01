"""Helpers for the MCP behaviour suite: settings, tool calls, and checks on what a client receives."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from botocore.config import Config
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ElicitResult, ImageContent, TextContent

from healthimaging_mcp.aws.clients import ClientFactory
from healthimaging_mcp.runtime import Runtime
from healthimaging_mcp.server import build_server
from healthimaging_mcp.settings import Settings

ElicitAction = Literal["accept", "decline", "cancel"]
ELICIT_ACTIONS: tuple[ElicitAction, ...] = ("accept", "decline", "cancel")
MODES = ["auto", "legacy"]
ERROR_TYPES = {
    "validation_error",
    "not_found",
    "conflict",
    "throttled",
    "access_denied",
    "auth_error",
    "service_error",
    "internal_error",
}
WRITE_TOOLS = {
    "create_datastore",
    "delete_datastore",
    "start_dicom_import_job",
    "update_image_set_metadata",
    "copy_image_set",
    "delete_image_set",
    "tag_resource",
    "untag_resource",
    "change_image_sets",
    "upload_dicom_files",
}
READ_TOOLS = {
    "list_datastores",
    "get_datastore",
    "search_image_sets",
    "search_dicom",
    "get_image_set",
    "list_image_set_versions",
    "get_image_set_metadata",
    "get_image_frame",
    "get_series_montage",
    "measure_image",
    "get_dicom_import_job",
    "list_dicom_import_jobs",
    "list_tags_for_resource",
    "get_overview",
    "export_dicom",
    "view_series",
}
APP_ONLY_TOOLS = {"viewer_series", "viewer_slice", "viewer_measure"}  # listed only to clients with MCP Apps
SECRET_MARKERS = ("Traceback", 'File "', "aws_secret_access_key", "AWS4-HMAC-SHA256", "Signature=")


def settings_for(endpoint: str, output_dir: Path | None, **overrides: Any) -> Settings:
    """Settings for a server talking to a local service (no pacing, files saved to `output_dir`)."""
    base = Settings(
        region="us-east-1",
        endpoint_url=endpoint,
        local_data_dir=None,
        write_rate_per_second=0,
        output_dir=output_dir,
    )
    return base.with_overrides(**overrides)


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def images_of(result: CallToolResult) -> list[ImageContent]:
    return [block for block in result.content if isinstance(block, ImageContent)]


def ok(result: CallToolResult) -> dict[str, Any]:
    """The structured content of a successful call."""
    assert not result.is_error, text_of(result)
    structured: dict[str, Any] | None = result.structured_content
    assert structured is not None
    return structured


def error_of(result: CallToolResult) -> dict[str, Any]:
    """The typed error of a failed call, after checking it leaks nothing."""
    assert result.is_error, text_of(result)[:500]
    assert result.structured_content is None
    text = text_of(result)
    for marker in SECRET_MARKERS:
        assert marker not in text, f"{marker!r} leaked into the error text: {text}"
    error: dict[str, Any] = json.loads(text)["error"]
    assert error["type"] in ERROR_TYPES
    assert error["message"]
    return error


def assert_short_rendering(result: CallToolResult, limit: int = 4000) -> str:
    """The text block is readable prose/table, not a copy of the structured JSON."""
    text = text_of(result)
    assert text.strip()
    assert len(text) <= limit, len(text)
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    assert parsed != result.structured_content, "the text block repeats the JSON"
    assert not text.lstrip().startswith("{"), text[:200]
    return text


async def call(client: Client, name: str, arguments: dict[str, Any] | None = None, **kwargs: Any) -> CallToolResult:
    return await client.call_tool(name, arguments or {}, **kwargs)


async def page_through(
    client: Client, name: str, arguments: dict[str, Any], items: str, *, max_pages: int = 100
) -> tuple[list[dict[str, Any]], int]:
    """Every item of a paginated tool, following next_token to the end; returns (items, pages)."""
    collected: list[dict[str, Any]] = []
    token: str | None = None
    for page in range(1, max_pages + 1):
        result = await call(client, name, {**arguments, **({"next_token": token} if token else {})})
        data = ok(result)
        collected += data[items]
        token = data.get("next_token")
        if token:
            assert "More results" in text_of(result)
        else:
            assert "No more results" in text_of(result) or name == "list_dicom_import_jobs"
            return collected, page
    raise AssertionError(f"{name} did not finish within {max_pages} pages")


def uid_like(text: str) -> bool:
    return bool(re.fullmatch(r"[0-9]+(\.[0-9]+)*", text))


class SingleAttemptClients(ClientFactory):
    """The server's own client configuration, but failing at the first error instead of retrying for seconds."""

    def _config(self, service: str) -> Config:
        return super()._config(service).merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))


def single_attempt_server(settings: Settings) -> MCPServer:
    return build_server(settings, runtime=Runtime(settings, clients=SingleAttemptClients(settings)))


class Asker:
    """An elicitation callback answering every question with `action`, remembering the questions."""

    def __init__(self, action: ElicitAction) -> None:
        self.action: ElicitAction = action
        self.questions: list[str] = []

    async def __call__(self, context: Any, params: Any) -> ElicitResult:
        self.questions.append(params.message)
        if self.action == "accept":
            return ElicitResult(action="accept", content={"confirm": True})
        return ElicitResult(action=self.action)
