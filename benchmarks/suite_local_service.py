"""The local service: import throughput, and GetImageFrame / GetImageSetMetadata latency per layer.

Each read is timed four ways in one interleaved run, from the outside in: through boto3, as a raw keep-alive
HTTP request (the baseline for boto3), as a bare in-process call of the ASGI app's request handler (routing,
auth, binding, validation, serialisation; no HTTP), and as a direct backend call (SQLite + blob file).
"""

from __future__ import annotations

import gzip
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from healthimaging_mcp.imaging.codecs import encode_lossless
from healthimaging_mcp.local.http.protocol import HttpRequest
from healthimaging_mcp.local.imports.batch import ImportReport
from healthimaging_mcp.local.samples.seeding import LOCAL_CALLER
from healthimaging_mcp.local.service import LocalService

from .fixtures import (
    CT_DATASTORE,
    LARGE_DATASTORE,
    LARGE_INSTANCES,
    ImageSetRef,
    SeededService,
    SeriesFiles,
    create_datastore,
    ct_series_files,
    decoded_pixels,
    image_set_ref,
    import_series,
    large_series_files,
    spread,
)
from .harness import Cell, Options, Result, Table, compare, latency_table, time_once
from .raw_http import RawClient, SignedRequest, get_image_frame_request, get_image_set_metadata_request

FRAMES_CYCLED = 32
IMPORT_COLUMNS = (
    *("series", "instances", "input MB", "runs", "median s", "instances/s", "MB/s", "ms/instance"),
    *("floor: encode ms/instance", "ms/instance ÷ floor"),
)
BASELINE_OF = {"boto3": "raw HTTP", "raw HTTP": "in-process handler", "in-process handler": "backend call"}
LAYER_NOTE = (
    "Baseline = the layer below, same interleaved run: boto3 → raw keep-alive `http.client` request (SigV4 signed "
    "once) → `app.handle()` in-process (no HTTP) → backend method alone. Client and service share one process."
)

Case = Callable[[int], bytes]


def run(options: Options) -> list[Table]:
    repeats = options.n(3, 1)
    ct = ct_series_files()
    large = large_series_files(LARGE_INSTANCES)
    with tempfile.TemporaryDirectory(prefix="him-bench-") as tmp:
        services = [LocalService(Path(tmp) / f"import-{i}") for i in range(repeats)]
        try:
            plan = [(CT_DATASTORE, ct), (LARGE_DATASTORE, large)]
            import_table, imported = import_throughput(services, plan)
            seeded = services[0].start()
            refs = SeededService(
                seeded,
                image_set_ref(seeded, *imported[CT_DATASTORE]),
                image_set_ref(seeded, *imported[LARGE_DATASTORE]),
            )
            return [import_table, *read_latency(refs, options)]
        finally:
            for service in services:
                service.stop()


# ---------------------------------------------------------------- import


def import_throughput(
    services: list[LocalService], plan: list[tuple[str, SeriesFiles]]
) -> tuple[Table, dict[str, tuple[str, ImportReport]]]:
    """Import each (datastore name, series) into every fresh service in turn; keep the first service's imports.

    The floor is the lossless HTJ2K encode alone of the same pixels, on one thread, in the same run.
    """
    _warm_up(plan)
    durations: dict[str, list[int]] = {s.label: [] for _, s in plan}
    floors: dict[str, list[int]] = {s.label: [] for _, s in plan}
    pixels = {s.label: decoded_pixels(s) for _, s in plan}
    kept: dict[str, tuple[str, ImportReport]] = {}
    for service in services:
        for name, s in plan:
            datastore_id = create_datastore(service, name)
            started = time.perf_counter_ns()
            report = import_series(service, datastore_id, s)
            durations[s.label].append(time.perf_counter_ns() - started)
            kept.setdefault(name, (datastore_id, report))
            floors[s.label].append(time_once(partial(_encode_all, pixels[s.label])))
    rows: list[list[Cell]] = []
    results = []
    for _, s in plan:
        info = {"instances": s.count, "bytes": s.total_bytes}
        floor = Result(f"encode only {s.label}", floors[s.label], info=info)
        result = Result(f"import {s.label}", durations[s.label], floor.name, info)
        seconds = statistics.median(durations[s.label]) / 1e9
        encode_ms = statistics.median(floors[s.label]) / 1e6 / s.count
        mb = s.total_bytes / 1e6
        per_instance = seconds * 1e3 / s.count
        ratio = f"{per_instance / encode_ms:.1f}×"
        rows.append([s.label, s.count, mb, result.n, seconds, s.count / seconds, mb / seconds, per_instance])
        rows[-1] += [encode_ms, ratio]
        results += [result, floor]
    table = Table(
        "Import throughput (`backend.import_files`, Part 10 bytes pre-generated)",
        list(IMPORT_COLUMNS),
        rows,
        "Each run imports into a fresh data folder: parse, normalise metadata, transcode every frame to lossless "
        "HTJ2K (ingest pool of min(4, CPUs) threads), write blobs, commit. Floor = `encode_lossless` alone on the "
        "same pixels, one thread, same run. DICOM synthesis is not timed.",
        results,
    )
    return table, kept


def _encode_all(frames: list[np.ndarray]) -> None:
    for frame in frames:
        encode_lossless(frame)


def _warm_up(plan: list[tuple[str, SeriesFiles]]) -> None:
    """One small untimed import, so codec and thread start-up do not land in the first timed run."""
    with tempfile.TemporaryDirectory(prefix="him-bench-warm-") as tmp:
        service = LocalService(Path(tmp))
        try:
            for name, s in plan:
                import_series(service, create_datastore(service, name), SeriesFiles(s.label, s.files[:8]))
        finally:
            service.stop()


# ---------------------------------------------------------------- reads


def read_latency(seeded: SeededService, options: Options) -> list[Table]:
    service = seeded.service
    client = service.client()
    raw = RawClient(service.endpoint)
    try:
        frame_table = _frame_latency(service, client, raw, seeded.ct, options.n(300, 30))
        ct_meta = _metadata_latency(service, client, raw, seeded.ct, options.n(200, 20))
        large_meta = _metadata_latency(service, client, raw, seeded.large, options.n(60, 10))
    finally:
        raw.close()
    return [frame_table, ct_meta, large_meta]


def _handler_request(request: SignedRequest) -> HttpRequest:
    headers = {k.lower(): v for k, v in request.headers.items()}
    return HttpRequest(request.method, request.path, "", {}, headers, request.body)


def _checked(cases: dict[str, Case]) -> dict[str, Case]:
    """Run each case once and insist all layers answer the same bytes, so the comparison is honest."""
    answers = {name: fn(0) for name, fn in cases.items()}
    if len(set(answers.values())) != 1:
        raise RuntimeError(f"the layers answered differently: { {k: len(v) for k, v in answers.items()} }")
    return cases


def _ok(answer: tuple[int, dict[str, str], bytes]) -> bytes:
    status, _, body = answer
    if status != 200:
        raise RuntimeError(f"raw HTTP request failed with {status}: {body[:200]!r}")
    return body


def _frame_latency(service: LocalService, client: Any, raw: RawClient, ref: ImageSetRef, n: int) -> Table:
    frames = spread(ref.frame_ids, FRAMES_CYCLED)
    signed = [get_image_frame_request(raw, ref.datastore_id, ref.image_set_id, f) for f in frames]
    handled = [_handler_request(s) for s in signed]
    params = [
        {"datastoreId": ref.datastore_id, "imageSetId": ref.image_set_id, "imageFrameInformation": {"imageFrameId": f}}
        for f in frames
    ]
    k = len(frames)
    cases: dict[str, Case] = {
        "boto3": lambda i: client.get_image_frame(**params[i % k])["imageFrameBlob"].read(),
        "raw HTTP": lambda i: _ok(raw.send(signed[i % k])),
        "in-process handler": lambda i: service.app.handle(handled[i % k]).body,
        "backend call": lambda i: service.backend.reads.get_image_frame(params[i % k], LOCAL_CALLER)["imageFrameBlob"],
    }
    sizes = [len(service.backend.reads.get_image_frame(p, LOCAL_CALLER)["imageFrameBlob"]) for p in params]
    results = _run(_checked(cases), n)
    title = (
        f"GetImageFrame: CT 512×512 int16 as lossless HTJ2K, cycling {k} frames "
        f"(mean {statistics.mean(sizes) / 1024:.0f} KiB each)"
    )
    return latency_table(title, results, LAYER_NOTE)


def _metadata_latency(service: LocalService, client: Any, raw: RawClient, ref: ImageSetRef, n: int) -> Table:
    signed = get_image_set_metadata_request(raw, ref.datastore_id, ref.image_set_id)
    handled = _handler_request(signed)
    params = {"datastoreId": ref.datastore_id, "imageSetId": ref.image_set_id}

    def boto3_call(i: int) -> bytes:
        return gzip.decompress(client.get_image_set_metadata(**params)["imageSetMetadataBlob"].read())

    cases: dict[str, Case] = {
        "boto3": boto3_call,
        "raw HTTP": lambda i: gzip.decompress(_ok(raw.send(signed))),
        "in-process handler": lambda i: gzip.decompress(service.app.handle(handled).body),
        "backend call": lambda i: gzip.decompress(
            service.backend.reads.get_image_set_metadata(params, LOCAL_CALLER)["imageSetMetadataBlob"]
        ),
    }
    blob = service.backend.reads.get_image_set_metadata(params, LOCAL_CALLER)["imageSetMetadataBlob"]
    results = _run(_checked(cases), n)
    title = (
        f"GetImageSetMetadata (read + gunzip): {ref.instances:,} instances, "
        f"{len(blob) / 1024:.0f} KiB gzip → {len(gzip.decompress(blob)) / 1024:.0f} KiB JSON"
    )
    return latency_table(title, results, LAYER_NOTE)


def _run(cases: dict[str, Case], n: int) -> list[Result]:
    return compare(cases, n=n, warmup=5, baselines=BASELINE_OF)
