"""DICOMweb on the local service: QIDO-RS searches over 10,000 instances beside native SearchImageSets.

The datastore holds 500 studies × 2 series × 10 instances, written straight into the image set store as
metadata-light documents (identity and a few image attributes, no frames), so making it takes seconds; the
DICOMweb index is filled by the same store hook as for imports. Every request is a SigV4-signed raw HTTP
request on one keep-alive connection (signed once, ahead of timing), QIDO and native alike.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import anyio
from mcp import Client

from healthimaging_mcp.local.service import LocalService
from healthimaging_mcp.local.store.lookups import datastore_row
from healthimaging_mcp.server import build_server

from .async_harness import compare_async
from .fixtures import create_datastore
from .harness import Options, Result, Table, compare, latency_table
from .mcp_fixtures import bench_settings, call_checked, ensure_dummy_credentials
from .raw_http import RawClient, SignedRequest

STUDIES = 500
SERIES_PER_STUDY = 2
INSTANCES_PER_SERIES = 10
INSTANCES = STUDIES * SERIES_PER_STUDY * INSTANCES_PER_SERIES
SURNAMES = ("SMITH", "JONES", "GARCIA", "MILLER", "DAVIS", "LOPEZ", "WILSON", "TAYLOR", "MOORE", "CLARK")
GIVEN_NAMES = ("ANNA", "BEN", "CARLA", "DAVID", "EVA", "FRANK", "GRACE", "HENRY")
MODALITY_PAIRS = (("CT", "CT"), ("CT", "PT"), ("MR", "MR"), ("US", "US"), ("CR", "CR"))
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def uid(*parts: int) -> str:
    return "2.25." + "".join(f"{p:06d}" for p in (9, *parts)).lstrip("0")


def study_document(study: int, series: int) -> dict[str, Any]:
    """One image set: series `series` of study `study`, its instances carrying identity and image size only."""
    patient = study // 2
    modality = MODALITY_PAIRS[study % len(MODALITY_PAIRS)][series]
    series_uid = uid(study, series + 1)
    instances = {
        uid(study, series + 1, n): {
            "DICOM": {"SOPClassUID": CT_IMAGE_STORAGE, "SOPInstanceUID": uid(study, series + 1, n),
                      "InstanceNumber": str(n), "Rows": 512, "Columns": 512, "BitsAllocated": 16},
            "DICOMVRs": {},
        }
        for n in range(1, INSTANCES_PER_SERIES + 1)
    }  # fmt: skip
    return {
        "SchemaVersion": "1.1",
        "Patient": {"DICOM": {
            "PatientID": f"PAT-{patient:04d}",
            "PatientName": f"{SURNAMES[patient % len(SURNAMES)]}^{GIVEN_NAMES[patient % len(GIVEN_NAMES)]}",
            "PatientBirthDate": f"{1940 + patient % 60}0101", "PatientSex": "FM"[patient % 2],
        }},
        "Study": {
            "DICOM": {
                "StudyInstanceUID": uid(study), "StudyDate": f"{2015 + study % 10}{1 + study % 12:02d}15",
                "StudyTime": "101500", "AccessionNumber": f"ACC{study:05d}", "StudyID": f"S{study}",
                "StudyDescription": f"{modality} STUDY {study % 7}", "ReferringPhysicianName": "REFERRER^DR",
            },
            "Series": {series_uid: {
                "DICOM": {"SeriesInstanceUID": series_uid, "Modality": modality, "SeriesNumber": str(series + 1),
                          "SeriesDescription": f"SERIES {series + 1}", "BodyPartExamined": "CHEST"},
                "Instances": instances,
            }},
        },
    }  # fmt: skip


def generate(service: LocalService, datastore_id: str) -> float:
    """Write the datastore's image sets (one transaction); the seconds it took."""
    backend = service.backend
    datastore = datastore_row(backend.db, datastore_id)
    started = time.perf_counter()
    with backend.db.write() as conn:
        for study in range(STUDIES):
            for series in range(SERIES_PER_STUDY):
                backend.image_sets.insert_image_set(
                    conn,
                    datastore,
                    study_document(study, series),
                    [],
                    is_primary=True,
                    workflow_status="CREATED",
                    now=1_700_000_000.0 + study * SERIES_PER_STUDY + series,
                )
    return time.perf_counter() - started


def run(options: Options) -> list[Table]:
    with tempfile.TemporaryDirectory(prefix="him-bench-dicomweb-") as tmp, LocalService(Path(tmp)) as service:
        datastore_id = create_datastore(service, "bench-dicomweb")
        seconds = generate(service, datastore_id)
        raw = RawClient(service.endpoint)
        try:
            tables = [_search_latency(raw, datastore_id, seconds, options.n(200, 10))]
        finally:
            raw.close()
        tables.append(anyio.run(_mcp_search_latency, service, datastore_id, Path(tmp), options.n(100, 5)))
        return tables


async def _mcp_search_latency(service: LocalService, datastore_id: str, tmp: Path, n: int) -> Table:
    """The server's search_dicom over an in-memory MCP session, beside search_image_sets (native) on the same data."""
    ensure_dummy_credentials()
    server = build_server(bench_settings(service.endpoint, tmp, datastore_id=datastore_id))
    cases: dict[str, tuple[str, dict[str, Any]]] = {
        "search_image_sets: patient_id (native)": ("search_image_sets", {"patient_id": "PAT-0042"}),
        "search_dicom: PatientID": ("search_dicom", {"match": {"PatientID": "PAT-0042"}}),
        "search_dicom: PatientName=SMITH* + Modality=CT (20)": (
            "search_dicom",
            {"match": {"PatientName": "SMITH*", "Modality": "CT"}},
        ),
        "search_dicom: fuzzy name + 2020 dates (20)": (
            "search_dicom",
            {"match": {"PatientName": "gra", "StudyDate": "2020-01-01-2020-12-31"}, "fuzzy": True},
        ),
        "search_dicom: series, BodyPartExamined=CHEST (20)": (
            "search_dicom",
            {"level": "series", "match": {"BodyPartExamined": "CHEST"}},
        ),
    }
    baselines = {name: "search_image_sets: patient_id (native)" for name in cases if name.startswith("search_dicom")}
    async with Client(server) as client:
        calls = {
            name: (lambda i, tool=tool, arguments=arguments: call_checked(client, tool, arguments))
            for name, (tool, arguments) in cases.items()
        }
        results = await compare_async(calls, n=n, warmup=3, baselines=baselines)
    note = (
        "Tool calls over an in-memory MCP session (client, server and local service in one process) on the "
        "datastore above; search_image_sets also reads each hit's metadata for series descriptions."
    )
    return latency_table("search_dicom over MCP (QIDO-RS) vs search_image_sets", results, note)


def _qido(raw: RawClient, datastore_id: str, path: str, **params: str) -> SignedRequest:
    query = f"?{urlencode(params)}" if params else ""
    return raw.sign("GET", f"/datastore/{datastore_id}/{path}{query}")


def _native(raw: RawClient, datastore_id: str, criteria: dict[str, Any]) -> SignedRequest:
    return raw.sign("POST", f"/datastore/{datastore_id}/searchImageSets?maxResults=50", criteria)


def _count(raw: RawClient, request: SignedRequest) -> int:
    status, _, body = raw.send(request)
    if status != 200:
        raise RuntimeError(f"{request.method} {request.path} answered {status}: {body[:200]!r}")
    answer = json.loads(body)
    return len(answer["imageSetsMetadataSummaries"] if isinstance(answer, dict) else answer)


def _search_latency(raw: RawClient, datastore_id: str, seconds: float, n: int) -> Table:
    year_2020 = {"DICOMStudyDate": "20200101"}, {"DICOMStudyDate": "20201231", "DICOMStudyTime": "235959"}
    native_cases = {
        "native: first page (50), newest first": {},
        "native: DICOMPatientId = PAT-0042": {
            "filters": [{"operator": "EQUAL", "values": [{"DICOMPatientId": "PAT-0042"}]}]
        },
        "native: DICOMStudyDateAndTime in 2020 (50)": {
            "filters": [{"operator": "BETWEEN", "values": [{"DICOMStudyDateAndTime": d} for d in year_2020]}]
        },
    }
    series_path = f"studies/{uid(42)}/series/{uid(42, 1)}/instances"
    qido_cases: dict[str, tuple[SignedRequest, str | None]] = {
        "QIDO studies: first page (50), newest first": (
            _qido(raw, datastore_id, "studies", limit="50"),
            "native: first page (50), newest first",
        ),
        "QIDO studies: PatientID=PAT-0042": (
            _qido(raw, datastore_id, "studies", PatientID="PAT-0042"),
            "native: DICOMPatientId = PAT-0042",
        ),
        "QIDO studies: StudyDate=2020 range (50)": (
            _qido(raw, datastore_id, "studies", StudyDate="20200101-20201231", limit="50"),
            "native: DICOMStudyDateAndTime in 2020 (50)",
        ),
        "QIDO studies: PatientName=SMITH* ModalitiesInStudy=CT": (
            _qido(raw, datastore_id, "studies", PatientName="SMITH*", ModalitiesInStudy="CT"),
            None,
        ),
        "QIDO studies: PatientName=gra fuzzy (50)": (
            _qido(raw, datastore_id, "studies", PatientName="gra", fuzzymatching="true", limit="50"),
            None,
        ),
        "QIDO series: Modality=PT (50)": (_qido(raw, datastore_id, "series", Modality="PT", limit="50"), None),
        "QIDO instances of one series (10)": (_qido(raw, datastore_id, series_path), None),
        "QIDO instances: all 10,000, first 100": (_qido(raw, datastore_id, "instances", limit="100"), None),
    }
    requests: dict[str, SignedRequest] = {name: _native(raw, datastore_id, c) for name, c in native_cases.items()}
    requests |= {name: request for name, (request, _) in qido_cases.items()}
    counts = {name: _count(raw, request) for name, request in requests.items()}
    labelled = {f"{name} → {counts[name]}": request for name, request in requests.items()}
    baselines: dict[str, str | None] = {
        f"{name} → {counts[name]}": (f"{base} → {counts[base]}" if base else None)
        for name, (_, base) in qido_cases.items()
    }
    cases = {name: (lambda i, request=request: _count(raw, request)) for name, request in labelled.items()}
    results: list[Result] = compare(cases, n=n, warmup=5, baselines=baselines)
    for result in results:
        result.info["instances"] = INSTANCES
    note = (
        f"{INSTANCES:,} metadata-light instances ({STUDIES} studies × {SERIES_PER_STUDY} series × "
        f"{INSTANCES_PER_SERIES}), written and indexed in {seconds:.1f} s. `→ N` = results returned. Baseline = "
        "the native SearchImageSets call closest in meaning (one page of at most 50 image set summaries, i.e. "
        "series; QIDO answers studies). Raw keep-alive HTTP, SigV4 signed once, client and service in one process; "
        "timing includes parsing the JSON answer."
    )
    return latency_table("QIDO-RS vs SearchImageSets over 10,000 instances (raw HTTP)", results, note)
