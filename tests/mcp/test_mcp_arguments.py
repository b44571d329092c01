"""Nothing a caller sends is silently ignored: every tool refuses unknown arguments, empty strings and numbers
that are not finite with a validation_error naming the argument, and file names to save under are checked
before any work, without ever being logged."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import Tool

from tests.support.mcp_testkit import (
    MODES,
    READ_TOOLS,
    WRITE_TOOLS,
    call,
    error_of,
    settings_for,
    single_attempt_server,
)
from tests.support.samples import SampleFacts

pytestmark = pytest.mark.anyio

# Nothing listens here: a call that got past argument validation would fail as a service_error.
OFFLINE = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def every_tool_server(tmp_path_factory: pytest.TempPathFactory) -> MCPServer:
    """All tools, writes included, with no service behind them: only argument validation can answer."""
    output = tmp_path_factory.mktemp("arguments-out")
    return single_attempt_server(settings_for(OFFLINE, output, allow_write=True))


async def listed_tools(client: Client) -> list[Tool]:
    tools = (await client.list_tools()).tools
    assert {t.name for t in tools} == READ_TOOLS | WRITE_TOOLS
    return tools


def refusal(result: Any, argument: str) -> str:
    """The message of a validation_error that names `argument`."""
    error = error_of(result)
    assert error["type"] == "validation_error", error
    assert argument in error["message"], error
    return str(error["message"])


@pytest.mark.parametrize("mode", MODES)
async def test_every_tool_refuses_unknown_arguments_and_lists_the_accepted_ones(
    mode: str, every_tool_server: MCPServer
) -> None:
    async with Client(every_tool_server, mode=mode) as client:
        for tool in await listed_tools(client):
            message = refusal(await call(client, tool.name, {"modality": "MR"}), "modality")
            accepted = {name.strip() for name in message.split("accepted:", 1)[1].split(",")}
            assert accepted == set(tool.input_schema["properties"]), (tool.name, message)


@pytest.mark.parametrize("mode", MODES)
async def test_the_reproduced_unknown_arguments_are_refused_on_real_data(
    mode: str, read_server: MCPServer, sample_facts: SampleFacts
) -> None:
    # `plane` was the first reproduced case; get_image_frame accepts it since issue 9 (reformats).
    frame = {"image_set_id": sample_facts.ct_image_set_id, "view": "coronal", "include_image": False}
    async with Client(read_server, mode=mode) as client:
        refusal(await call(client, "search_image_sets", {"modality": "MR"}), "modality")
        refusal(await call(client, "get_image_frame", frame), "view")


@pytest.mark.parametrize("mode", MODES)
async def test_every_input_schema_forbids_additional_properties(mode: str, every_tool_server: MCPServer) -> None:
    async with Client(every_tool_server, mode=mode) as client:
        for tool in await listed_tools(client):
            assert tool.input_schema.get("additionalProperties") is False, tool.name


def string_arguments(tool: Tool) -> list[tuple[str, Any, str]]:
    """(argument, an empty value for it, how the refusal names it): every string argument and list of strings."""
    found: list[tuple[str, Any, str]] = []
    for name, schema in tool.input_schema["properties"].items():
        if schema.get("type") == "string":
            found.append((name, "", f"{name}:"))
        elif schema.get("type") == "array" and schema.get("items", {}).get("type") == "string":
            found.append((name, ["  "], name))  # `name:` or, when the items have a pattern, `name.0:`
    return found


@pytest.mark.parametrize("mode", MODES)
async def test_every_string_argument_refuses_an_empty_value(mode: str, every_tool_server: MCPServer) -> None:
    checked = 0
    async with Client(every_tool_server, mode=mode) as client:
        for tool in await listed_tools(client):
            for name, empty, named in string_arguments(tool):
                refusal(await call(client, tool.name, {name: empty}), named)
                checked += 1
        created_from = await call(client, "search_image_sets", {"created_from": ""})
    assert checked > 40
    assert "created_from: Empty" in refusal(created_from, "created_from")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "nan", "inf"])
async def test_every_number_argument_refuses_non_finite_values(
    mode: str, value: str, every_tool_server: MCPServer
) -> None:
    # A client serializes a float NaN as null; as text it reaches the server, which reads "NaN" as a float.
    checked = 0
    async with Client(every_tool_server, mode=mode) as client:
        for tool in await listed_tools(client):
            properties = tool.input_schema["properties"]
            window = {k: v for k, v in {"window_center": 40, "window_width": 400}.items() if k in properties}
            for name, schema in properties.items():
                if schema.get("type") == "number":
                    arguments = {"image_set_id": "0" * 32, **window, name: value}
                    assert "finite" in refusal(await call(client, tool.name, arguments), f"{name}:")
                    checked += 1
    assert checked >= 4  # window_center and window_width of get_image_frame and get_series_montage


SECRET = "PAT-SECRET-0042"  # stands for a patient ID a model put into a file name
BAD_FILE_NAMES = [
    f"{SECRET}\x00.png",
    f"{SECRET}-" * 20,  # 320 characters
    f"scans\\{SECRET}.png",
    f"/tmp/{SECRET}.png",
    f"~/{SECRET}.png",
    f"scans//{SECRET}.png",
    f"{SECRET}\n.png",
]


@pytest.mark.parametrize(
    ("tool", "parameter"),
    [
        ("get_image_frame", "save_as"),
        ("get_image_set_metadata", "save_json_as"),
        ("get_series_montage", "save_as"),
        ("export_dicom", "destination"),
    ],
)
async def test_bad_file_names_are_refused_and_never_logged(
    tool: str,
    parameter: str,
    read_server: MCPServer,
    sample_facts: SampleFacts,
    output_root: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    base: dict[str, Any] = {"image_set_id": sample_facts.ct_image_set_id}
    if tool == "get_image_frame":
        base |= {"include_image": False, "max_size": 64}
    if tool == "get_series_montage":
        base |= {"count": 2, "tile_size": 64}
    async with Client(read_server) as client:
        for name in BAD_FILE_NAMES:
            error = error_of(await call(client, tool, {**base, parameter: name}))
            assert error["type"] == "validation_error", (name, error)
            assert "file name" in error["message"] and SECRET not in error["message"], error
    assert SECRET not in caplog.text
    assert not [path for path in output_root.rglob("*") if SECRET in path.name]
    assert not list(Path("/tmp").glob(f"{SECRET}*"))
