"""OpenTelemetry: spans for MCP messages and AWS calls, metrics for tools, AWS calls, throttling and images,
checked with the SDK's in-memory exporter and reader; nothing about the patient in any of them."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from opentelemetry import trace
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from healthimaging_mcp.deploy import telemetry as names
from healthimaging_mcp.deploy.telemetry import Telemetry, configured
from healthimaging_mcp.local.service import LocalService
from healthimaging_mcp.runtime import Runtime
from healthimaging_mcp.server import build_server
from tests.support.local_kit import UNKNOWN_ID
from tests.support.mcp_testkit import settings_for
from tests.support.sample_phi import sample_identifiers
from tests.support.server_processes import child_env

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """The process-wide tracer provider (settable once) exporting to memory, with botocore instrumented."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    instrumentor = BotocoreInstrumentor()  # type: ignore[no-untyped-call]
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield exporter
    finally:
        instrumentor.uninstrument()
        exporter.shutdown()  # later tests' spans are no longer kept


@pytest.fixture
def metrics() -> InMemoryMetricReader:
    return InMemoryMetricReader()


def server_with(service: LocalService, reader: InMemoryMetricReader, tmp_path: Path, **overrides: Any) -> Any:
    settings = settings_for(service.endpoint, tmp_path / "out", **overrides)
    return build_server(settings, Runtime(settings, telemetry=Telemetry(MeterProvider(metric_readers=[reader]))))


def points(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, Any], Any]]]:
    """metric name -> [(attributes, value: the sum, count or gauge value)]."""
    found: dict[str, list[tuple[dict[str, Any], Any]]] = {}
    data = reader.get_metrics_data()
    assert data is not None
    for resource_metrics in data.resource_metrics:
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = point.count if isinstance(point, HistogramDataPoint) else getattr(point, "value", None)
                    found.setdefault(metric.name, []).append((dict(point.attributes or {}), value))
    return found


def described(span: ReadableSpan) -> str:
    """Everything a span exports, as text."""
    parts = [span.name, json.dumps(dict(span.attributes or {}), default=str), str(span.status.description)]
    parts += [f"{event.name} {dict(event.attributes or {})}" for event in span.events]
    return "\n".join(parts)


async def test_spans_and_metrics_of_a_session_without_patient_data(
    sample_service: LocalService,
    sample_facts: Any,
    spans: InMemorySpanExporter,
    metrics: InMemoryMetricReader,
    tmp_path: Path,
) -> None:
    spans.clear()
    ct = sample_facts.ct_image_set_id
    study_uid = next(
        s["DICOMTags"]["DICOMStudyInstanceUID"]
        for s in sample_facts.summaries
        if s["DICOMTags"].get("DICOMStudyDescription") == "MR BRAIN WO CONTRAST"
    )
    rename = {"patient_id": "PAT-ALICE-001", "set_attributes": {"PatientName": "DEMO^ALICE^CORRECTED"}}
    # Write mode for change_image_sets: its plan is made and refused (a wrong confirmation), never applied.
    async with Client(server_with(sample_service, metrics, tmp_path, allow_write=True)) as client:
        await client.call_tool("search_image_sets", {"patient_id": "PAT-ALICE-001", "max_results": 50})
        await client.call_tool("get_image_frame", {"image_set_id": ct, "max_size": 64})
        await client.call_tool("get_overview", {"patient_id": "PAT-ALICE-001"})
        await client.call_tool("export_dicom", {"study_instance_uid": study_uid})
        planned = await client.call_tool("change_image_sets", rename)
        assert planned.structured_content is not None and "DEMO^ALICE" in str(planned.content)
        refusal = {"plan": planned.structured_content["plan"], "confirm": "plan-0000000000"}
        assert (await client.call_tool("change_image_sets", refusal)).structured_content["state"] == "not_applied"
        await client.call_tool("get_image_set", {"image_set_id": UNKNOWN_ID})
        await client.call_tool("get_image_set", {"image_set_id": "DEMO^ALICE"})  # refused before any AWS call

    finished = spans.get_finished_spans()
    by_name: dict[str, ReadableSpan] = {}
    for span in finished:
        by_name.setdefault(span.name, span)  # the first of each: SearchImageSets of search_image_sets
    search, frame = by_name["tools/call search_image_sets"], by_name["tools/call get_image_frame"]
    assert search.attributes and search.attributes["gen_ai.tool.name"] == "search_image_sets"
    aws = by_name["Medical Imaging.SearchImageSets"]
    assert aws.kind == trace.SpanKind.CLIENT and aws.attributes and aws.attributes["rpc.method"] == "SearchImageSets"
    assert aws.parent is not None and aws.parent.span_id == search.context.span_id  # AWS spans nest in the tool's
    assert "Medical Imaging.GetImageFrame" in by_name and frame.context.trace_id != search.context.trace_id
    assert (by_name["tools/call get_image_set"].attributes or {})["error.type"] == "tool_error"
    leaked = {i for i in sample_identifiers() if any(i.lower() in described(s).lower() for s in finished)}
    assert not leaked, leaked

    found = points(metrics)
    tools = {
        attributes["gen_ai.tool.name"]: count
        for attributes, count in found[names.TOOL_DURATION]
        if "error.type" not in attributes
    }
    assert tools == {
        "search_image_sets": 1,
        "get_image_frame": 1,
        "get_overview": 1,
        "export_dicom": 1,
        "change_image_sets": 2,
    }
    errors = {(a["gen_ai.tool.name"], a["error.type"]): n for a, n in found[names.TOOL_ERRORS]}
    assert errors == {("get_image_set", "not_found"): 1, ("get_image_set", "validation_error"): 1}
    operations = {attributes["rpc.method"] for attributes, _ in found[names.AWS_DURATION]}
    assert {"search_image_sets", "get_image_frame", "get_image_set"} <= operations
    failed = [a for a, _ in found[names.AWS_DURATION] if a.get("error.type") == "not_found"]
    assert [a["rpc.method"] for a in failed] == ["get_image_set"]
    ((attributes, image_bytes),) = found[names.IMAGE_BYTES]
    assert attributes == {"gen_ai.tool.name": "get_image_frame"} and image_bytes > 100
    ((_, memory),) = found[names.MEMORY]
    assert memory > 10_000_000
    assert not leaked


async def test_throttled_attempts_and_retries_are_counted(
    sample_service: LocalService, sample_facts: Any, metrics: InMemoryMetricReader, tmp_path: Path
) -> None:
    sample_service.faults.add("GetImageSet", "ThrottlingException", times=1)
    try:
        async with Client(server_with(sample_service, metrics, tmp_path)) as client:
            answer = await client.call_tool("get_image_set", {"image_set_id": sample_facts.ct_image_set_id})
    finally:
        sample_service.faults.clear()
    assert not answer.is_error
    found = points(metrics)
    assert found[names.AWS_THROTTLED] == [({"rpc.system": "aws-api", "rpc.method": "GetImageSet"}, 1)]
    assert found[names.AWS_RETRIES] == [({"rpc.system": "aws-api", "rpc.method": "get_image_set"}, 1)]


def test_export_is_on_only_when_an_endpoint_is_configured() -> None:
    assert not configured({})
    assert configured({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert configured({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"})
    assert not configured({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318", "OTEL_SDK_DISABLED": "true"})
    assert not Telemetry().enabled


@contextmanager
def otlp_collector() -> Iterator[tuple[str, dict[str, list[bytes]]]]:
    """An OTLP/HTTP endpoint on 127.0.0.1 keeping what is posted to it, by path."""
    received: dict[str, list[bytes]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.setdefault(self.path, []).append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


async def test_the_server_exports_over_otlp_when_configured(sample_service: LocalService) -> None:
    with otlp_collector() as (endpoint, received):
        env = child_env(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_METRIC_EXPORT_INTERVAL="600000")
        command = ["-m", "healthimaging_mcp", "--endpoint-url", sample_service.endpoint, "--region", "us-east-1"]
        params = StdioServerParameters(command=sys.executable, args=command, env=env)
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            await session.call_tool("search_image_sets", {"patient_id": "PAT-ALICE-001", "max_results": 50})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not {"/v1/traces", "/v1/metrics"} <= received.keys():
            await anyio.sleep(0.1)  # the server flushes both as it exits
    traces, metrics = b"".join(received["/v1/traces"]), b"".join(received["/v1/metrics"])
    assert b"tools/call search_image_sets" in traces and b"Medical Imaging.SearchImageSets" in traces
    assert b"healthimaging-mcp" in traces  # the service name
    assert names.TOOL_DURATION.encode() in metrics and names.AWS_DURATION.encode() in metrics
    exported = traces + metrics
    assert not {i for i in sample_identifiers() if i.encode() in exported}
