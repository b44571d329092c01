"""Metadata summary tables: time to summarise the 1,000-instance image set, and answer size vs the raw JSON."""

from __future__ import annotations

import gzip
import json
from typing import Any

from mcp import Client

from healthimaging_mcp.dicom.document import ImageSetDocument
from healthimaging_mcp.dicom.views.build import summarize
from healthimaging_mcp.dicom.views.text import render_summary
from healthimaging_mcp.local.samples.seeding import LOCAL_CALLER

from .async_harness import AsyncCase, compare_async
from .fixtures import ImageSetRef, SeededService
from .harness import Cell, Options, Table, latency_table
from .mcp_fixtures import ToolFailed, answer_chars, call_checked

SUMMARY_CHARS_TARGET = 8000
SUMMARY_MS_TARGET = 150.0
FLOOR = "json.loads of the raw JSON (floor)"
SUMMARY = "ImageSetDocument.from_json + summarize"


def raw_metadata(seeded: SeededService, ref: ImageSetRef) -> tuple[bytes, bytes]:
    """(gzip blob, JSON bytes) of an image set's metadata, read from the backend (never timed)."""
    params = {"datastoreId": ref.datastore_id, "imageSetId": ref.image_set_id}
    blob = bytes(seeded.service.backend.reads.get_image_set_metadata(params, LOCAL_CALLER)["imageSetMetadataBlob"])
    return blob, gzip.decompress(blob)


async def metadata_tables(seeded: SeededService, auto: Client, cold_auto: Client, options: Options) -> list[Table]:
    return [
        await _summary_time_table(seeded, seeded.large, auto, cold_auto, options),
        await _summary_size_table(seeded, [seeded.ct, seeded.large], auto),
    ]


def _tool_arguments(ref: ImageSetRef) -> dict[str, Any]:
    return {"datastore_id": ref.datastore_id, "image_set_id": ref.image_set_id, "depth": "summary"}


async def _summary_time_table(
    seeded: SeededService, ref: ImageSetRef, auto: Client, cold_auto: Client, options: Options
) -> Table:
    _, raw = raw_metadata(seeded, ref)
    parsed = json.loads(raw)
    cached_document = ImageSetDocument.from_json(parsed)
    summarize(cached_document)  # builds the document's series views once, as the tool's cache holds them
    arguments = _tool_arguments(ref)
    cases: dict[str, AsyncCase] = {
        FLOOR: lambda i: json.loads(raw),
        SUMMARY: lambda i: summarize(ImageSetDocument.from_json(parsed)),
        "json.loads + from_json + summarize": lambda i: summarize(ImageSetDocument.from_json(json.loads(raw))),
        "summarize a cached document": lambda i: summarize(cached_document),
        "summarize + text rendering (cached document)": lambda i: render_summary(summarize(cached_document)),
        "get_image_set_metadata · MCP auto, no cache": lambda i: call_checked(
            cold_auto, "get_image_set_metadata", arguments
        ),
        "get_image_set_metadata · MCP auto, cached": lambda i: call_checked(auto, "get_image_set_metadata", arguments),
    }
    failure = ""
    try:
        await call_checked(cold_auto, "get_image_set_metadata", arguments)
    except ToolFailed as exc:
        failure = f" FAILED (not timed): {exc}"
        cases = {k: v for k, v in cases.items() if "MCP" not in k}
    baselines = {name: FLOOR for name in cases if name != FLOOR}
    results = await compare_async(cases, n=options.n(30, 5), warmup=2, baselines=baselines)
    summary_p50 = next(r.p50_ms for r in results if r.name == SUMMARY)
    verdict = "met" if summary_p50 < SUMMARY_MS_TARGET else "MISSED"
    note = (
        f"The {ref.instances:,}-instance image set ({len(raw) / 1024:.0f} KiB JSON). Baseline = json.loads of the "
        "same bytes, same interleaved run. The tool rows add GetImageSet (+ GetImageSetMetadata and gunzip without "
        "the cache), the answer model, text rendering and MCP. "
        f"Target: {SUMMARY} < {SUMMARY_MS_TARGET:g} ms: {summary_p50:.1f} ms ({verdict}).{failure}"
    )
    return latency_table(f"Metadata summary time: {ref.instances:,} instances", results, note)


async def _summary_size_table(seeded: SeededService, refs: list[ImageSetRef], auto: Client) -> Table:
    columns = ["image set", "raw JSON chars", "gzip bytes", "summary JSON chars", "summary text chars"]
    columns += ["tool answer: text chars", "tool answer: structured chars", "raw ÷ summary JSON", "series shown"]
    columns += [f"< {SUMMARY_CHARS_TARGET:,} chars?"]
    rows: list[list[Cell]] = []
    failures = []
    for ref in refs:
        blob, raw = raw_metadata(seeded, ref)
        summary = summarize(ImageSetDocument.from_json(json.loads(raw)))
        summary_chars = len(summary.model_dump_json(exclude_none=True))
        text_chars = len(render_summary(summary))
        try:
            tool_text, tool_structured = answer_chars(
                await call_checked(auto, "get_image_set_metadata", _tool_arguments(ref))
            )
        except ToolFailed as exc:
            failures.append(str(exc))
            tool_text = tool_structured = 0
        raw_chars = len(raw.decode())
        shown = f"{len(summary.series)}/{summary.series_count}" + (" (truncated)" if summary.truncated else "")
        largest = max(summary_chars, text_chars, tool_text, tool_structured)
        verdict = "yes" if largest < SUMMARY_CHARS_TARGET else "NO"
        counts = [raw_chars, len(blob), summary_chars, text_chars, tool_text, tool_structured]
        rows.append([f"{ref.instances:,} instances", *(f"{c:,}" for c in counts)])
        rows[-1] += [f"{raw_chars / summary_chars:,.0f}×", shown, verdict]
    note = (
        "Characters as a client would count them (compact JSON, non-ASCII kept). `summary JSON` = "
        "`summarize(...)` as compact JSON (exclude_none), `summary text` = `render_summary`; the tool answer "
        "carries both (text block + structuredContent). Budget: Settings.max_output_chars (default 8,000)."
    )
    if failures:
        note += " FAILED: " + "; ".join(failures)
    return Table("Metadata summary size vs the raw metadata JSON", columns, rows, note)
