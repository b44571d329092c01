"""OpenTelemetry: traces and metrics, exported over OTLP when configured, silent and cheap when not.

Turned on by the standard variables (`OTEL_EXPORTER_OTLP_ENDPOINT`, or its `_TRACES_`/`_METRICS_` forms;
`OTEL_SDK_DISABLED=true` turns it off) with the `[otel]` extra installed. Traces: the MCP SDK's middleware
makes one span per MCP message, and botocore's instrumentation a child span per AWS call. Metrics (below):
tool latency and errors by type, AWS call duration by operation, retries and throttling, image bytes
answered, process memory. Attributes carry tool names, operations and error types, never argument values.
"""

from __future__ import annotations

import logging
import os
import resource
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry.metrics import CallbackOptions, MeterProvider, NoOpMeterProvider, Observation

from .. import __version__
from .calls import ToolCall

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
    from opentelemetry.sdk.trace import TracerProvider

log = logging.getLogger(__name__)

ENDPOINT_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
)
THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException"})

# Metric names (tool latency follows the OpenTelemetry MCP semantic conventions)
TOOL_DURATION = "mcp.server.operation.duration"
TOOL_ERRORS = "healthimaging_mcp.tool.errors"
AWS_DURATION = "healthimaging_mcp.aws.call.duration"
AWS_RETRIES = "healthimaging_mcp.aws.retries"
AWS_THROTTLED = "healthimaging_mcp.aws.throttled"
IMAGE_BYTES = "healthimaging_mcp.image.bytes"
MEMORY = "process.memory.usage"


def configured(env: Mapping[str, str] | None = None) -> bool:
    """Whether the environment asks for OTLP export."""
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(env.get(name) for name in ENDPOINT_VARIABLES)


class Telemetry:
    """The server's metric instruments on `meter_provider` (the API's no-op provider: telemetry off)."""

    def __init__(self, meter_provider: MeterProvider | None = None) -> None:
        self.enabled = meter_provider is not None
        meter = (meter_provider or NoOpMeterProvider()).get_meter("healthimaging_mcp", __version__)
        self.tool_duration = meter.create_histogram(TOOL_DURATION, unit="s", description="Tool call duration")
        self.tool_errors = meter.create_counter(TOOL_ERRORS, unit="{error}", description="Failed tool calls")
        self.aws_duration = meter.create_histogram(AWS_DURATION, unit="s", description="HealthImaging call duration")
        self.aws_retries = meter.create_counter(AWS_RETRIES, unit="{retry}", description="AWS call retries")
        self.aws_throttled = meter.create_counter(AWS_THROTTLED, unit="{response}", description="Throttled attempts")
        self.image_bytes = meter.create_counter(IMAGE_BYTES, unit="By", description="Image bytes answered")
        if self.enabled:
            meter.create_observable_gauge(MEMORY, [_memory], unit="By", description="Peak resident memory")

    def tool_call(self, call: ToolCall) -> None:
        attributes = {"mcp.method.name": "tools/call", "gen_ai.tool.name": call.tool}
        if call.error_type:
            attributes["error.type"] = call.error_type
            self.tool_errors.add(1, attributes)
        self.tool_duration.record(call.duration, attributes)
        if call.image_bytes:
            self.image_bytes.add(call.image_bytes, {"gen_ai.tool.name": call.tool})

    def aws_call(self, operation: str, seconds: float, error_type: str | None, retries: int) -> None:
        attributes = {"rpc.system": "aws-api", "rpc.method": operation}
        if retries:
            self.aws_retries.add(retries, attributes)
        if error_type:
            attributes["error.type"] = error_type
        self.aws_duration.record(seconds, attributes)

    def watch(self, client: Any) -> None:
        """Count throttled attempts of `client`'s calls, retried or not (botocore's needs-retry event)."""
        if self.enabled:
            client.meta.events.register("needs-retry", self._attempted)

    def _attempted(self, response: Any = None, operation: Any = None, **_: Any) -> None:
        if response is None:
            return None  # a connection error: no answer to judge
        http, parsed = response
        code = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
        if code in THROTTLING_CODES or getattr(http, "status_code", 0) == 429:
            name = getattr(operation, "name", "unknown")
            self.aws_throttled.add(1, {"rpc.system": "aws-api", "rpc.method": name})
        return None  # botocore's own handler decides whether to retry


def _memory(options: CallbackOptions) -> Iterable[Observation]:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    yield Observation(peak if sys.platform == "darwin" else peak * 1024)


class Exporting:
    """The SDK providers exporting over OTLP, installed globally; `shutdown()` flushes them."""

    def __init__(self, tracer_provider: TracerProvider, meter_provider: SdkMeterProvider) -> None:
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def start_exporting() -> tuple[Telemetry, Exporting | None]:
    """Telemetry as the environment configures it: OTLP export of traces (MCP and AWS spans) and metrics, or
    the no-op instruments (also when the `[otel]` extra is missing, with a warning)."""
    if not configured():
        return Telemetry(), None
    try:
        from opentelemetry import metrics, trace
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
        from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry SDK is not installed: "
            "pip install 'healthimaging-mcp[otel]'"
        )
        return Telemetry(), None
    attributes = {"service.version": __version__}
    if not os.environ.get("OTEL_SERVICE_NAME"):
        attributes["service.name"] = "healthimaging-mcp"
    service = Resource.create(attributes)
    tracer_provider = TracerProvider(resource=service)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    BotocoreInstrumentor().instrument(tracer_provider=tracer_provider)  # type: ignore[no-untyped-call, unused-ignore]
    meter_provider = SdkMeterProvider(
        resource=service, metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())]
    )
    metrics.set_meter_provider(meter_provider)
    return Telemetry(meter_provider), Exporting(tracer_provider, meter_provider)
