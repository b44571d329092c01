"""Whole-patient work: a patient overview of 100 image sets, DICOM export throughput, write pacing efficiency.

Everything runs against the local service in this process, through an in-memory MCP session (`mcp.Client`).
Each table has its floor measured in the same run: the bare HealthImaging calls the tool cannot avoid.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from healthimaging_mcp.local.samples.collection import ARCHIVE_PATIENT, PHANTOM_SLICES, patient_archive
from healthimaging_mcp.local.samples.seeding import dataset_bytes
from healthimaging_mcp.local.service import LocalService
from healthimaging_mcp.server import build_server

from .async_harness import compare_async
from .fixtures import ImageSetRef, create_datastore, seeded_service
from .harness import Cell, Options, Table, latency_table
from .mcp_fixtures import bench_settings, call_checked, ensure_dummy_credentials

OVERVIEW_IMAGE_SETS = 100
OVERVIEW_TARGET_S = 2.0
PACED_WRITES = 20
PACING_RATE = 10.0  # requests/s: high enough to run quickly, low enough that the pacer decides the timing
EXPORT_WORKERS = 16


def run(options: Options) -> list[Table]:
    ensure_dummy_credentials()
    with tempfile.TemporaryDirectory(prefix="him-bench-workflows-") as tmp:
        root = Path(tmp)
        with LocalService(root / "archive") as service:
            overview = anyio.run(_overview_table, service, _archive(service, OVERVIEW_IMAGE_SETS), root, options)
            writes = options.n(PACED_WRITES, 6)
            pacing = anyio.run(_pacing_table, service, _archive(service, writes, "bench-paced"), writes, root)
        with seeded_service(root / "ct", ct_slices=options.n(PHANTOM_SLICES, 32), large_instances=8) as seeded:
            export = anyio.run(_export_table, seeded.service, seeded.ct, root, options)
    return [overview, export, pacing]


def _archive(service: LocalService, count: int, name: str = "bench-archive") -> str:
    """A datastore holding one patient with `count` one-slice image sets in four studies."""
    datastore_id = create_datastore(service, name)
    files = [(f"{i}.dcm", partial(dataset_bytes, ds)) for i, ds in enumerate(patient_archive(count))]
    service.backend.import_files(datastore_id, files)
    return datastore_id


# ------------------------------------------------------------------------------------------- overview


async def _overview_table(service: LocalService, datastore_id: str, root: Path, options: Options) -> Table:
    server = build_server(bench_settings(service.endpoint, root / "out"))
    boto = server.runtime.clients.medical_imaging()
    arguments = {"datastore_id": datastore_id, "patient_id": ARCHIVE_PATIENT.patient_id}

    def searches(i: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for primary in (True, False):
            criteria: Any = {
                "filters": [
                    {"operator": "EQUAL", "values": [{"DICOMPatientId": ARCHIVE_PATIENT.patient_id}]},
                    {"operator": "EQUAL", "values": [{"isPrimary": primary}]},
                ]
            }
            pages = boto.get_paginator("search_image_sets").paginate(datastoreId=datastore_id, searchCriteria=criteria)
            found += [dict(s) for page in pages for s in page["imageSetsMetadataSummaries"]]
        return found

    def searches_and_documents(i: int) -> object:
        summaries = searches(i)

        def document(summary: dict[str, Any]) -> bytes:
            response = boto.get_image_set_metadata(
                datastoreId=datastore_id, imageSetId=summary["imageSetId"], versionId=str(summary["version"])
            )
            data: bytes = response["imageSetMetadataBlob"].read()
            return data

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(document, summaries))

    async with Client(server) as client:
        first = await call_checked(client, "get_overview", arguments)
        listed = sum(len(study["series"]) for study in (first.structured_content or {})["studies"])
        cases = {
            "get_overview (MCP, 100 image sets)": lambda i: call_checked(client, "get_overview", arguments),
            "floor: 2 paginated searches + 100 metadata reads (boto3, 8 threads)": searches_and_documents,
            "2 paginated searches alone (boto3)": searches,
        }
        n = options.n(15, 3)
        results = await compare_async(
            cases, n=n, warmup=1, baselines={"get_overview (MCP, 100 image sets)": list(cases)[1]}
        )
    p50 = results[0].p50_ms / 1000
    note = (
        f"{listed} of the 100 image sets listed series by series (the others counted by study); "
        f"target < {OVERVIEW_TARGET_S:.0f} s: "
        f"{'met' if p50 < OVERVIEW_TARGET_S else 'MISSED'} (p50 {p50:.2f} s). The metadata cache holds 32 documents, "
        "so every call reads the 100 documents again."
    )
    return latency_table("Patient overview: 100 image sets of one patient", results, note)


# ------------------------------------------------------------------------------------------- export


async def _export_table(service: LocalService, ct: ImageSetRef, root: Path, options: Options) -> Table:
    server = build_server(bench_settings(service.endpoint, root / "out"))
    boto = server.runtime.clients.medical_imaging()

    def fetch_all(i: int) -> object:
        def one(frame_id: str) -> bytes:
            response = boto.get_image_frame(
                datastoreId=ct.datastore_id,
                imageSetId=ct.image_set_id,
                imageFrameInformation={"imageFrameId": frame_id},
            )
            data: bytes = response["imageFrameBlob"].read()
            return data

        with ThreadPoolExecutor(EXPORT_WORKERS) as pool:
            return list(pool.map(one, ct.frame_ids))

    async with Client(server) as client:

        async def export(i: int, uncompressed: bool) -> object:
            folder = root / "out" / "export"
            shutil.rmtree(folder, ignore_errors=True)
            arguments = {"datastore_id": ct.datastore_id, "image_set_id": ct.image_set_id, "destination": "export"}
            return await call_checked(client, "export_dicom", {**arguments, "uncompressed": uncompressed})

        cases = {
            "export_dicom, frames as stored (HTJ2K)": lambda i: export(i, False),
            "export_dicom, uncompressed (decoded)": lambda i: export(i, True),
            f"floor: fetch every frame (boto3, {EXPORT_WORKERS} threads)": fetch_all,
        }
        floor = list(cases)[2]
        results = await compare_async(
            cases, n=options.n(5, 2), warmup=1, baselines={name: floor for name in list(cases)[:2]}
        )
    table = latency_table(f"DICOM export of the {ct.instances}-slice CT (one image set)", results)
    table.columns.append("instances/s")
    for row, result in zip(table.rows, results, strict=True):
        row.append(ct.instances / (result.p50_ms / 1000))
    table.note = (
        "Files written to the output folder (re-created before each run). The floor is the frame fetch the export "
        "cannot avoid; the difference is building the Part 10 files (and decoding, uncompressed) and writing them."
    )
    return table


# ------------------------------------------------------------------------------------------- pacing


async def _pacing_table(service: LocalService, datastore_id: str, writes: int, root: Path) -> Table:
    settings = bench_settings(
        service.endpoint, root / "out", allow_write=True, write_rate_per_second=PACING_RATE, state_key="be" * 32
    )
    moments: list[float] = []

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        moments.append(time.perf_counter())

    async with Client(build_server(settings)) as client:
        plan = await call_checked(
            client,
            "change_image_sets",
            {
                "datastore_id": datastore_id,
                "patient_id": ARCHIVE_PATIENT.patient_id,
                "set_attributes": {"PatientName": "PACED^WRITES"},
            },
        )
        planned = plan.structured_content or {}
        started = time.perf_counter()
        await client.call_tool(
            "change_image_sets", {"plan": planned["plan"], "confirm": planned["plan_id"]}, progress_callback=progress
        )
        finished = time.perf_counter()
    spacing = (moments[-1] - moments[0]) / (len(moments) - 1)
    achieved = 1 / spacing
    rows: list[list[Cell]] = [
        [f"{len(moments)} paced UpdateImageSetMetadata", PACING_RATE, achieved, achieved / PACING_RATE, spacing * 1000],
        ["whole apply call (status reads, writes, waiting, report), s", None, None, None, finished - started],
    ]
    return Table(
        "Pacing efficiency: the writes of a plan at the write quota",
        ["case", "quota req/s", "achieved req/s", "efficiency", "mean spacing ms (or s)"],
        rows,
        f"Quota raised to {PACING_RATE:g}/s (HealthImaging's default is 0.25/s, burst 1) so the run is short; achieved "
        "rate = writes after the first / time between the first and the last write, from the client's progress "
        "notifications.",
    )
