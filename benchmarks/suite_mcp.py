"""The MCP server: per-call overhead over boto3, concurrent vs sequential calls, process start-up over stdio.

Everything runs against the local service in this process. Per-call latency is timed four ways in one
interleaved run: through an in-memory MCP session (`mode="auto"`, the SDK's direct dispatcher, and
`mode="legacy"`, real JSON-RPC over memory streams), as the tool function MCP calls (no MCP), and as the
same boto3 call(s) made directly with the server's own boto3 client (the baseline).
"""

from __future__ import annotations

import gzip
import json
import statistics
import tempfile
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from healthimaging_mcp.local.samples.collection import PHANTOM_SLICES
from healthimaging_mcp.server import HealthImagingServer, build_server
from healthimaging_mcp.tools import datastores, image_sets, metadata

from .async_harness import AsyncCase, compare_async, time_async
from .fixtures import ImageSetRef, SeededService, seeded_service, spread
from .harness import NS_PER_MS, Cell, Options, Result, Table, latency_table
from .mcp_fixtures import (
    ToolFailed,
    added_latency,
    bench_settings,
    bound_tool,
    call_checked,
    ensure_dummy_credentials,
    seed_many_image_sets,
)
from .mcp_startup import startup_table

CONCURRENT_CALLS = 32
ADDED_LATENCY_S = 0.010
OVERHEAD_TARGET_MS = 2.0
MODES = ("auto", "legacy")
CASE_NOTE = (
    "Baseline = the same HealthImaging call(s) made directly with the server's own boto3 client, same "
    "interleaved run. `tool fn` = the function MCP calls (tool code + answer rendering, no MCP). "
    "`MCP auto` = in-memory `mcp.Client(server)` (direct dispatch, protocol 2026-07-28); `MCP legacy` = "
    '`mode="legacy"` (JSON-RPC over memory streams, 2025-11-25). Service in-process (uvicorn thread).'
)


@dataclass
class ToolCase:
    """One tool measured against the boto3 call(s) it has to make."""

    label: str
    tool: str
    arguments: dict[str, Any]
    function: Callable[..., Any]  # the tool function as declared in healthimaging_mcp.tools
    direct: Callable[[int], object]  # the boto3 baseline
    cold: bool = False  # through the server without a metadata cache
    results: list[Result] = field(default_factory=list)
    failure: str | None = None


def run(options: Options) -> list[Table]:
    ensure_dummy_credentials()
    with tempfile.TemporaryDirectory(prefix="him-bench-mcp-") as tmp:
        root = Path(tmp)
        with seeded_service(root / "service", ct_slices=options.n(PHANTOM_SLICES, 32), large_instances=8) as seeded:
            many = seed_many_image_sets(seeded.service, CONCURRENT_CALLS)
            tables: list[Table] = anyio.run(_in_memory_tables, seeded, many, root, options)
            tables.append(startup_table(seeded.service.endpoint, root, options))
    return tables


async def _in_memory_tables(
    seeded: SeededService, many: list[ImageSetRef], root: Path, options: Options
) -> list[Table]:
    endpoint = seeded.service.endpoint
    cached = build_server(bench_settings(endpoint, root / "out"))
    cold = build_server(bench_settings(endpoint, root / "out", metadata_cache_entries=0))
    async with AsyncExitStack() as stack:
        sessions = {}
        for name, server in (("cached", cached), ("cold", cold)):
            for mode in MODES:
                sessions[name, mode] = await stack.enter_async_context(Client(server, mode=mode))
        cases = _tool_cases(cached, seeded.ct, many)
        for case in cases:
            await _measure_tool(case, cold if case.cold else cached, sessions, options)
        per_call = _per_call_table(cases)
        summary = _overhead_table(cases, seeded.ct.instances)
        concurrency = await _concurrency_table(seeded, many, sessions, options)
    return [per_call, summary, concurrency]


# ---------------------------------------------------------------- per call


def _tool_cases(server: HealthImagingServer, ct: ImageSetRef, many: list[ImageSetRef]) -> list[ToolCase]:
    client = server.runtime.clients.medical_imaging()
    ct_ids = {"datastoreId": ct.datastore_id, "imageSetId": ct.image_set_id}
    ct_args = {"datastore_id": ct.datastore_id, "image_set_id": ct.image_set_id}
    page = {"datastore_id": many[0].datastore_id, "max_results": 10}

    def metadata_direct(i: int) -> object:
        version = client.get_image_set(**ct_ids)["versionId"]
        blob = client.get_image_set_metadata(**ct_ids, versionId=version)["imageSetMetadataBlob"].read()
        return json.loads(gzip.decompress(blob))

    summary_args = {**ct_args, "depth": "summary"}
    return [
        ToolCase(
            "list_datastores", "list_datastores", {}, datastores.list_datastores, lambda i: client.list_datastores()
        ),
        ToolCase(
            "search_image_sets (page of 10)",
            "search_image_sets",
            page,
            image_sets.search_image_sets,
            lambda i: client.search_image_sets(datastoreId=many[0].datastore_id, searchCriteria={}, maxResults=10),
        ),
        ToolCase(
            "get_image_set",
            "get_image_set",
            ct_args,
            image_sets.get_image_set,
            lambda i: client.get_image_set(**ct_ids),
        ),
        ToolCase(
            "get_image_set_metadata (cached)",
            "get_image_set_metadata",
            summary_args,
            metadata.get_image_set_metadata,
            metadata_direct,
        ),
        ToolCase(
            "get_image_set_metadata (no cache)",
            "get_image_set_metadata",
            summary_args,
            metadata.get_image_set_metadata,
            metadata_direct,
            cold=True,
        ),
    ]


async def _measure_tool(
    case: ToolCase, server: HealthImagingServer, sessions: dict[tuple[str, str], Client], options: Options
) -> None:
    cache = "cold" if case.cold else "cached"
    auto = sessions[cache, "auto"]
    tool_fn = bound_tool(case.function, server.runtime)

    def mcp_call(mode: str) -> AsyncCase:
        session = sessions[cache, mode]
        return lambda i: call_checked(session, case.tool, case.arguments)

    def direct_tool(i: int) -> object:
        return tool_fn(**case.arguments)

    base = f"{case.label} · boto3 direct"
    cases: dict[str, AsyncCase] = {f"{case.label} · MCP {mode}": mcp_call(mode) for mode in MODES}
    cases[f"{case.label} · tool fn, no MCP"] = direct_tool
    cases[base] = case.direct
    try:
        sample = await call_checked(auto, case.tool, case.arguments)
    except ToolFailed as exc:
        case.failure = str(exc)
        return
    # The SDK client re-validates structured content against the tool's output schema on every call.
    cases[f"{case.label} · client output-schema check only"] = lambda i: auto.session.validate_tool_result(
        case.tool, sample
    )
    n = options.n(40, 10) if case.cold else options.n(100, 15)
    baselines = {name: base for name in cases if "MCP" in name or "tool fn" in name}
    case.results = await compare_async(cases, n=n, warmup=5, baselines=baselines)


def _per_call_table(cases: list[ToolCase]) -> Table:
    results = [r for case in cases for r in case.results]
    table = latency_table("Per-call latency: in-memory MCP session vs the same boto3 call(s)", results, CASE_NOTE)
    failures = [case.failure for case in cases if case.failure]
    if failures:
        table.note += " FAILED (not timed): " + "; ".join(failures)
    return table


def _overhead_table(cases: list[ToolCase], ct_instances: int) -> Table:
    columns = ["tool", "boto3 p50 ms", "MCP auto p50 ms", "MCP overhead ms (auto)", "MCP legacy p50 ms"]
    columns += ["MCP overhead ms (legacy)", "of which tool code ms", "of which MCP ms (auto)"]
    columns += ["(in it: client schema check ms)", "< 2 ms?"]
    rows: list[list[Cell]] = []
    for case in cases:
        if case.failure:
            rows.append([case.label, *([None] * 8), "tool failed"])
            continue
        p50 = {r.name.split(" · ", 1)[1]: r.p50_ms for r in case.results}
        auto, legacy, tool_fn, boto = p50["MCP auto"], p50["MCP legacy"], p50["tool fn, no MCP"], p50["boto3 direct"]
        schema = p50["client output-schema check only"]
        overhead = auto - boto
        rows.append([case.label, boto, auto, overhead, legacy, legacy - boto, tool_fn - boto, auto - tool_fn, schema])
        rows[-1].append("yes" if overhead < OVERHEAD_TARGET_MS else "no")
    note = (
        f"Medians from the table above. Overhead = tool p50 − boto3 p50 (target < {OVERHEAD_TARGET_MS:g} ms); split "
        "into tool code (tool fn − boto3: argument handling, answer model, text rendering) and MCP (auto − tool fn: "
        f"dispatch, validation, worker thread, result objects, and the SDK client re-validating the structured "
        "answer against the output schema with jsonschema, timed alone in the next column). The metadata "
        "baseline is get_image_set + "
        f"get_image_set_metadata + gunzip + json.loads of the {ct_instances}-instance CT; the tool adds building "
        'the summary (no cache) or skips the fetch (cache hit), so its "overhead" is not MCP cost.'
    )
    return Table("MCP overhead per call (p50)", columns, rows, note)


# ---------------------------------------------------------------- concurrency


@dataclass(frozen=True)
class Workload:
    label: str
    tool: str
    cache: str  # "cached" or "cold" server
    calls: list[dict[str, Any]]


def _plan(ct: ImageSetRef, many: list[ImageSetRef], options: Options) -> list[tuple[Workload, str, float]]:
    """(workload, MCP mode, added latency s): every workload bare, the heavier ones with latency, legacy once."""
    sets = [{"datastore_id": r.datastore_id, "image_set_id": r.image_set_id} for r in many]
    frames = [
        {"datastore_id": ct.datastore_id, "image_set_id": ct.image_set_id, "image_frame_id": frame_id}
        for frame_id in spread(ct.frame_ids, CONCURRENT_CALLS)
    ]
    light = Workload(f"get_image_set ({len(sets)} image sets)", "get_image_set", "cached", sets)
    meta = Workload(
        f"get_image_set_metadata, no cache ({len(sets)} image sets)", "get_image_set_metadata", "cold", sets
    )
    image = Workload(f"get_image_frame ({len(frames)} CT frames, PNG)", "get_image_frame", "cached", frames)
    plan = [(light, "auto", 0.0), (meta, "auto", 0.0), (image, "auto", 0.0), (meta, "auto", ADDED_LATENCY_S)]
    if options.quick:
        return plan
    return [*plan, (image, "auto", ADDED_LATENCY_S), (meta, "legacy", ADDED_LATENCY_S)]


async def _concurrency_table(
    seeded: SeededService, many: list[ImageSetRef], sessions: dict[tuple[str, str], Client], options: Options
) -> Table:
    rows: list[list[Cell]] = []
    results: list[Result] = []
    for work, mode, latency in _plan(seeded.ct, many, options):
        repeats = options.n(2, 1) if latency else options.n(3, 1)
        with added_latency(seeded.service, latency):
            sequential, concurrent = await _sequential_vs_concurrent(sessions[work.cache, mode], work, repeats)
        seq_ms, con_ms = statistics.median(sequential) / NS_PER_MS, statistics.median(concurrent) / NS_PER_MS
        calls = len(work.calls)
        rows.append([work.label, mode, latency * 1000, calls, repeats, seq_ms, con_ms, f"{seq_ms / con_ms:.1f}×"])
        rows[-1].append(seq_ms / calls)
        name = f"{work.label} · {mode} · +{latency * 1000:g} ms"
        results += [Result(f"{name} · sequential", sequential), Result(f"{name} · concurrent", concurrent)]
    columns = ["workload", "MCP mode", "added latency ms", "calls", "runs", "sequential ms", "concurrent ms"]
    note = (
        "Total wall time of the calls through one session: awaited one after another vs started together in one "
        "task group; median of the runs. Client, MCP server and local service share this process and its CPUs "
        "(sync tools run in worker threads), so with no added latency the speed-up is bounded by CPU. `added "
        f"latency` makes the service sleep {ADDED_LATENCY_S * 1000:g} ms per request first, a stand-in for the "
        "network round trip to AWS, which concurrent calls overlap."
    )
    return Table(
        "Concurrent vs sequential tool calls", [*columns, "speed-up", "sequential ms/call"], rows, note, results
    )


async def _sequential_vs_concurrent(session: Client, work: Workload, repeats: int) -> tuple[list[int], list[int]]:
    async def sequential() -> None:
        for arguments in work.calls:
            await call_checked(session, work.tool, arguments)

    async def concurrent() -> None:
        async with anyio.create_task_group() as group:
            for arguments in work.calls:
                group.start_soon(call_checked, session, work.tool, arguments)

    await concurrent()  # warm-up: connections in the pool, caches
    seq, con = [], []
    for _ in range(repeats):
        seq.append(await time_async(sequential))
        con.append(await time_async(concurrent))
    return seq, con
