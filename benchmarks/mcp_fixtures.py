"""What the MCP and imaging suites share: server settings, checked tool calls, extra image sets, added latency."""

from __future__ import annotations

import gzip
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.types import CallToolResult

from healthimaging_mcp.local.samples.collection import large_series
from healthimaging_mcp.local.samples.seeding import dataset_bytes
from healthimaging_mcp.local.service import LocalService
from healthimaging_mcp.runtime import Runtime
from healthimaging_mcp.settings import Settings
from healthimaging_mcp.tools.registry import bind

from .fixtures import ImageSetRef, SeriesFiles, create_datastore, frame_ids_in_order, import_series

REGION = "us-east-1"
MANY_DATASTORE = "bench-many-image-sets"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}  # the local service accepts any


class ToolFailed(RuntimeError):
    """A tool answered with isError; the message is the tool's error text."""


def ensure_dummy_credentials() -> None:
    """boto3 needs some credentials to sign; the local service accepts any SigV4 signature."""
    for name, value in DUMMY_CREDENTIALS.items():
        os.environ.setdefault(name, value)


def bench_settings(endpoint: str, output_dir: Path, **changes: Any) -> Settings:
    """Settings of a server talking to the local service at `endpoint` (no write pacing)."""
    base = Settings(region=REGION, endpoint_url=endpoint, write_rate_per_second=0, output_dir=output_dir)
    return base.with_overrides(**changes)


def check(result: CallToolResult, name: str) -> CallToolResult:
    if result.is_error:
        text = " ".join(getattr(block, "text", "") for block in result.content)
        raise ToolFailed(f"{name}: {text[:400]}")
    return result


async def call_checked(client: Client, name: str, arguments: Mapping[str, Any]) -> CallToolResult:
    """`client.call_tool`, raising ToolFailed when the tool reports an error (so a broken tool is never timed)."""
    return check(await client.call_tool(name, dict(arguments)), name)


def bound_tool(fn: Callable[..., Any], runtime: Runtime) -> Callable[..., CallToolResult]:
    """The function MCP itself calls for tool `fn` (runtime bound, answer rendered): the tool without MCP."""
    tool: Callable[..., CallToolResult] = bind(fn, runtime)
    return tool


def answer_chars(result: CallToolResult) -> tuple[int, int]:
    """(characters of the text blocks, characters of the structured content as compact JSON)."""
    text = sum(len(getattr(block, "text", "") or "") for block in result.content)
    structured = len(compact_json(result.structured_content)) if result.structured_content else 0
    return text, structured


def compact_json(value: Any) -> str:
    """JSON as a client would count it: no spaces, non-ASCII characters kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def seed_many_image_sets(service: LocalService, count: int, *, instances: int = 2) -> list[ImageSetRef]:
    """`count` distinct small image sets (own patient, study, series each) in one datastore, in one import."""
    datastore_id = create_datastore(service, MANY_DATASTORE)
    files = tuple(
        (f"many/{k:03d}/{i:03d}.dcm", dataset_bytes(ds))
        for k in range(count)
        for i, ds in enumerate(large_series(instances, size=32, seed=100 + k))
    )
    report = import_series(service, datastore_id, SeriesFiles(f"{count} small series", files))
    if len(report.image_sets) != count:
        raise RuntimeError(f"expected {count} image sets, the import made {len(report.image_sets)}")
    client = service.client()
    refs = []
    for image_set in report.image_sets:
        blob = client.get_image_set_metadata(datastoreId=datastore_id, imageSetId=image_set.image_set_id)
        metadata = json.loads(gzip.decompress(blob["imageSetMetadataBlob"].read()))
        refs.append(ImageSetRef(datastore_id, image_set.image_set_id, frame_ids_in_order(metadata)))
    return refs


@contextmanager
def added_latency(service: LocalService, seconds: float) -> Iterator[None]:
    """Make every request to the in-process service wait `seconds` first, like a network round trip to AWS.

    The wait happens in the service's worker threads (the ASGI app runs `handle` there), so concurrent
    requests wait concurrently, as they would on the network.
    """
    app = service.app
    original = app.handle

    def delayed(request: Any) -> Any:
        time.sleep(seconds)
        return original(request)

    setattr(app, "handle", delayed)  # noqa: B010  # an instance attribute shadows the method for a while
    try:
        yield
    finally:
        vars(app).pop("handle", None)
