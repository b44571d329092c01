"""Serving a team: what authentication, the audit trail and telemetry add to a tool call over HTTP.

Two servers on the same local service, each behind its own uvicorn on 127.0.0.1, are called alternately
(interleaved, same run) through streamable HTTP under the 2026-07-28 protocol:
- `off`: no authentication, no audit, no telemetry (the OpenTelemetry API's no-ops);
- `on`: a bearer JWT (RS256) checked on every request against a JWKS served here (the token is reused, as
  clients do; `new token`: a fresh one per call, fully verified each time), an audit line per call written to
  a file, and telemetry recording: SDK tracer (MCP span + botocore span, batched to an exporter that
  drops them) and SDK meter provider (every metric aggregated).
The tracer provider is process-wide, so the `off` calls run with its sampler switched off and botocore
instrumentation suppressed: both cost what an unconfigured server pays.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from opentelemetry import trace
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult

from healthimaging_mcp.deploy.telemetry import Telemetry
from healthimaging_mcp.http_security import transport_security
from healthimaging_mcp.local.service import LocalService
from healthimaging_mcp.runtime import Runtime
from healthimaging_mcp.server import build_server
from healthimaging_mcp.settings import Settings
from tests.support.oauth_issuer import Issuer, serve_issuer

from .async_harness import compare_async
from .harness import Options, Result, Table, latency_table
from .mcp_fixtures import bench_settings, call_checked, ensure_dummy_credentials, seed_many_image_sets

TARGET_MS = 1.0
SCOPES = "healthimaging:read healthimaging:write healthimaging:delete"
AUDIENCE = "healthimaging-bench"


def run(options: Options) -> list[Table]:
    ensure_dummy_credentials()
    with tempfile.TemporaryDirectory(prefix="him-bench-deploy-") as tmp, LocalService(Path(tmp) / "service") as service:
        image_set = seed_many_image_sets(service, 1)[0]
        with serve_issuer(AUDIENCE) as issuer, tracing() as switch:
            tables: list[Table] = anyio.run(_measure, service, image_set, issuer, switch, Path(tmp), options)
    return tables


async def _measure(
    service: LocalService, image_set: Any, issuer: Issuer, switch: SamplerSwitch, tmp: Path, options: Options
) -> list[Table]:
    plain = bench_settings(service.endpoint, tmp / "out", transport="http")
    audit = str(tmp / "audit.jsonl")
    secured = plain.with_overrides(auth_issuer_url=issuer.url, auth_audiences=(AUDIENCE,), audit_log=audit)
    telemetry = Telemetry(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    arguments = {
        "list_datastores": {},
        "get_image_set": {"datastore_id": image_set.datastore_id, "image_set_id": image_set.image_set_id},
    }
    async with AsyncExitStack() as stack:
        urls = {
            "off": stack.enter_context(serve(plain, Runtime(plain))),
            "on": stack.enter_context(serve(secured, Runtime(secured, telemetry=telemetry))),
        }
        n, warmup = options.n(300, 10), options.n(20, 2)

        def token(token_id: str) -> str:
            return issuer.token(sub="bench", client_id="bench", scope=SCOPES, jti=token_id, exp=int(time.time()) + 3600)

        fresh_tokens = iter([token(f"t{i}") for i in range(n + warmup)])
        headers = {"off": httpx2.Headers(), "on": httpx2.Headers(), "new token": httpx2.Headers()}
        headers["on"]["Authorization"] = f"Bearer {token('reused')}"
        headers["new token"]["Authorization"] = f"Bearer {token('first')}"
        clients = {
            mode: await stack.enter_async_context(session(urls["off" if mode == "off" else "on"], header))
            for mode, header in headers.items()
        }

        def case(mode: str, tool: str) -> Callable[[int], Any]:
            async def call(i: int) -> object:
                switch.on = mode != "off"
                if mode == "new token":
                    headers[mode]["Authorization"] = f"Bearer {next(fresh_tokens)}"
                if switch.on:
                    return await call_checked(clients[mode], tool, arguments[tool])
                with suppress_instrumentation():
                    return await call_checked(clients[mode], tool, arguments[tool])

            return call

        results: list[Result] = []
        for tool in arguments:
            modes = ["off", "on"] + (["new token"] if tool == "list_datastores" else [])
            results += await compare_async(
                {f"{tool} {mode}": case(mode, tool) for mode in modes},
                n=n,
                warmup=warmup,
                baselines={f"{tool} {mode}": f"{tool} off" for mode in modes[1:]},
            )
        switch.on = False
    switch.flush()
    audited = (tmp / "audit.jsonl").read_text().count("\n")
    note = (
        "`off` = HTTP without auth, audit or telemetry; `on` = bearer JWT checked on every request (the client "
        "reuses its token: verified once, then remembered) + audit line + OTel spans and metrics recorded; "
        "`new token` = the same with a token never seen before on every call (RS256 signature verified each "
        "time); baseline = `off`, same interleaved run (uvicorn on 127.0.0.1, local service in-process). "
        f"Target: p50 overhead < {TARGET_MS:g} ms. Recorded: {audited} audit lines, {switch.exported.spans} spans."
    )
    return [latency_table("Per tool call over HTTP: auth + audit + telemetry on vs off", results, note)]


@contextmanager
def serve(settings: Settings, runtime: Runtime) -> Iterator[str]:
    """The MCP server for `settings` on a free 127.0.0.1 port, in a thread; yields its /mcp URL."""
    server = build_server(settings, runtime)
    config = uvicorn.Config(
        server.streamable_http_app(transport_security=transport_security(settings), host="127.0.0.1"),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        access_log=False,
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    while not uv.started:
        time.sleep(0.005)
    port = uv.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


def session(url: str, headers: httpx2.Headers) -> Client:
    """A client whose requests carry `headers` (the same object: a case may change it between calls)."""
    http_client = httpx2.AsyncClient(timeout=httpx2.Timeout(30, read=120))
    http_client.headers = headers
    return Client(streamable_http_client(url, http_client=http_client))


class SamplerSwitch(Sampler):
    """A sampler recording spans only while `on` (the tracer provider can be set once per process)."""

    def __init__(self) -> None:
        self.on = False
        self.exported = Dropped()
        self.flush: Callable[[], object] = lambda: None  # the tracer provider's force_flush, once it exists

    def should_sample(self, parent_context: Any, trace_id: int, name: str, *args: Any, **kwargs: Any) -> SamplingResult:
        return SamplingResult(Decision.RECORD_AND_SAMPLE if self.on else Decision.DROP)

    def get_description(self) -> str:
        return "SamplerSwitch"


class Dropped(SpanExporter):
    """Counts the spans and exports them nowhere: the batch processor's work stays, the network does not."""

    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans += len(spans)
        return SpanExportResult.SUCCESS


@contextmanager
def tracing() -> Iterator[SamplerSwitch]:
    """The process-wide SDK tracer provider (batched, exporting nowhere) and botocore instrumentation."""
    switch = SamplerSwitch()
    provider = TracerProvider(sampler=switch)
    provider.add_span_processor(BatchSpanProcessor(switch.exported))
    switch.flush = provider.force_flush
    trace.set_tracer_provider(provider)
    instrumentor = BotocoreInstrumentor()  # type: ignore[no-untyped-call, unused-ignore]
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield switch
    finally:
        switch.on = False
        instrumentor.uninstrument()
        provider.shutdown()
