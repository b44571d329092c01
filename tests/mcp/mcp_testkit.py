"""Helpers for the MCP behaviour suite: settings, tool calls, and checks on what a client receives."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import re
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from botocore.config import Config
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ElicitResult, ImageContent, TextContent
from pydicom.dataset import Dataset

from healthimaging_mcp.aws.clients import ClientFactory
from healthimaging_mcp.local.samples import collection
from healthimaging_mcp.local.samples.collection import ARCHIVE_PATIENT, patient_archive, synth_ct_series
from healthimaging_mcp.local.service import LocalService
from healthimaging_mcp.runtime import Runtime
from healthimaging_mcp.server import build_server
from healthimaging_mcp.settings import Settings

MODES = ["auto", "legacy"]
ERROR_TYPES = {
    "validation_error",
    "not_found",
    "conflict",
    "throttled",
    "access_denied",
    "auth_error",
    "service_error",
    "internal_error",
}
WRITE_TOOLS = {
    "create_datastore",
    "delete_datastore",
    "start_dicom_import_job",
    "update_image_set_metadata",
    "copy_image_set",
    "delete_image_set",
    "tag_resource",
    "untag_resource",
    "change_image_sets",
    "upload_dicom_files",
}
READ_TOOLS = {
    "list_datastores",
    "get_datastore",
    "search_image_sets",
    "search_dicom",
    "get_image_set",
    "list_image_set_versions",
    "get_image_set_metadata",
    "get_image_frame",
    "get_series_montage",
    "measure_image",
    "get_dicom_import_job",
    "list_dicom_import_jobs",
    "list_tags_for_resource",
    "get_overview",
    "export_dicom",
    "view_series",
}
APP_ONLY_TOOLS = {"viewer_series", "viewer_slice", "viewer_measure"}  # listed only to clients with MCP Apps
UNKNOWN_ID = "0" * 32
SECRET_MARKERS = ("Traceback", 'File "', "aws_secret_access_key", "AWS4-HMAC-SHA256", "Signature=")


def sample_identifiers() -> set[str]:
    """Every patient identifier of the sample data: names (and their parts), IDs, birth dates, accessions."""
    found: set[str] = set()
    for patient in collection.PATIENTS:
        born = patient.birth_date
        found |= {patient.name, patient.patient_id, born, f"{born[:4]}-{born[4:6]}-{born[6:]}"}
        found |= {part for part in patient.name.split("^") if part != "DEMO"}
    studies = [value for value in vars(collection).values() if isinstance(value, collection.DemoStudy)]
    assert len(studies) >= 7
    for study in studies:
        found |= {study.accession_number, study.study_id}
    return found


def settings_for(endpoint: str, output_dir: Path | None, **overrides: Any) -> Settings:
    """Settings for a server talking to a local service (no pacing, files saved to `output_dir`)."""
    base = Settings(
        region="us-east-1",
        endpoint_url=endpoint,
        local_data_dir=None,
        write_rate_per_second=0,
        output_dir=output_dir,
    )
    return base.with_overrides(**overrides)


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def images_of(result: CallToolResult) -> list[ImageContent]:
    return [block for block in result.content if isinstance(block, ImageContent)]


def ok(result: CallToolResult) -> dict[str, Any]:
    """The structured content of a successful call."""
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content


def error_of(result: CallToolResult) -> dict[str, Any]:
    """The typed error of a failed call, after checking it leaks nothing."""
    assert result.is_error, text_of(result)[:500]
    assert result.structured_content is None
    text = text_of(result)
    for marker in SECRET_MARKERS:
        assert marker not in text, f"{marker!r} leaked into the error text: {text}"
    error: dict[str, Any] = json.loads(text)["error"]
    assert error["type"] in ERROR_TYPES
    assert error["message"]
    return error


def assert_short_rendering(result: CallToolResult, limit: int = 4000) -> str:
    """The text block is readable prose/table, not a copy of the structured JSON."""
    text = text_of(result)
    assert text.strip()
    assert len(text) <= limit, len(text)
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    assert parsed != result.structured_content, "the text block repeats the JSON"
    assert not text.lstrip().startswith("{"), text[:200]
    return text


async def call(client: Client, name: str, arguments: dict[str, Any] | None = None, **kwargs: Any) -> CallToolResult:
    return await client.call_tool(name, arguments or {}, **kwargs)


async def page_through(
    client: Client, name: str, arguments: dict[str, Any], items: str, *, max_pages: int = 100
) -> tuple[list[dict[str, Any]], int]:
    """Every item of a paginated tool, following next_token to the end; returns (items, pages)."""
    collected: list[dict[str, Any]] = []
    token: str | None = None
    for page in range(1, max_pages + 1):
        result = await call(client, name, {**arguments, **({"next_token": token} if token else {})})
        data = ok(result)
        collected += data[items]
        token = data.get("next_token")
        if token:
            assert "More results" in text_of(result)
        else:
            assert "No more results" in text_of(result) or name == "list_dicom_import_jobs"
            return collected, page
    raise AssertionError(f"{name} did not finish within {max_pages} pages")


def part10(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def uid_like(text: str) -> bool:
    return bool(re.fullmatch(r"[0-9]+(\.[0-9]+)*", text))


@dataclass
class WritableStore:
    """A fresh local service with one datastore holding small synthetic CT series (one image set each)."""

    service: LocalService
    datastore_id: str
    image_set_ids: list[str] = field(default_factory=list)
    series_uids: list[str] = field(default_factory=list)
    sop_uids: list[list[str]] = field(default_factory=list)

    @property
    def boto(self) -> Any:
        return self.service.client()

    @classmethod
    def create(cls, service: LocalService, seeds: Iterable[int] = (0,), slices: int = 3) -> WritableStore:
        client = service.client()
        datastore_id = client.create_datastore(datastoreName="mcp-writes")["datastoreId"]
        store = cls(service, datastore_id)
        for seed in seeds:
            datasets = list(synth_ct_series(slices, seed=seed))
            files = [(f"seed{seed}/{i}.dcm", partial(part10, ds)) for i, ds in enumerate(datasets)]
            report = service.backend.import_files(datastore_id, files)
            (imported,) = report.image_sets
            store.image_set_ids.append(imported.image_set_id)
            store.series_uids.append(str(datasets[0].SeriesInstanceUID))
            store.sop_uids.append([str(ds.SOPInstanceUID) for ds in datasets])
        return store

    def state(self, image_set_id: str) -> dict[str, Any]:
        response: dict[str, Any] = self.boto.get_image_set(datastoreId=self.datastore_id, imageSetId=image_set_id)
        return response

    def metadata(self, image_set_id: str, version: str | None = None) -> dict[str, Any]:
        import gzip

        extra = {"versionId": version} if version else {}
        response = self.boto.get_image_set_metadata(datastoreId=self.datastore_id, imageSetId=image_set_id, **extra)
        document: dict[str, Any] = json.loads(gzip.decompress(response["imageSetMetadataBlob"].read()))
        return document


class SingleAttemptClients(ClientFactory):
    """The server's own client configuration, but failing at the first error instead of retrying for seconds."""

    def _config(self, service: str) -> Config:
        return super()._config(service).merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))


def single_attempt_server(settings: Settings) -> MCPServer:
    return build_server(settings, runtime=Runtime(settings, clients=SingleAttemptClients(settings)))


class LatencyProxy:
    """A TCP proxy adding `delay` seconds to every request, as a network between server and AWS would.

    Each connection is served by its own threads, so it never depends on the event loop under test.
    """

    def __init__(self, upstream: str, delay: float = 0.02) -> None:
        host, _, port = upstream.removeprefix("http://").partition(":")
        self.upstream = (host, int(port))
        self.delay = delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            threading.Thread(target=self._pipe, args=(client, upstream, self.delay), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, 0.0), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket, delay: float) -> None:
        try:
            while chunk := source.recv(65536):
                if delay:
                    time.sleep(delay)
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closed = True
        self.listener.close()


PATIENT = ARCHIVE_PATIENT.patient_id
SERIES = 5  # one-slice series in two studies, plus one non-primary image set: 6 image sets of the patient


class PatientArchive:
    """The archive patient's image sets in a service whose writes take time."""

    def __init__(self, service: LocalService) -> None:
        self.service = service
        self.boto = service.client()
        self.datastore_id: str = self.boto.create_datastore(datastoreName="plans")["datastoreId"]
        datasets = list(patient_archive(SERIES, n_studies=2))
        self.series_uids = [str(ds.SeriesInstanceUID) for ds in datasets]
        files = [(f"{i}.dcm", partial(part10, ds)) for i, ds in enumerate(datasets)]
        service.backend.import_files(self.datastore_id, files)
        datasets[0].AccessionNumber = "CONFLICTING"  # the same series again: a non-primary image set
        service.backend.import_files(self.datastore_id, [("again.dcm", partial(part10, datasets[0]))])

    def image_sets(self) -> dict[str, dict[str, Any]]:
        """Image set ID → GetImageSet, for every image set of the patient (primary and non-primary)."""
        found = {}
        for primary in (True, False):
            criteria = {
                "filters": [
                    {"operator": "EQUAL", "values": [{"DICOMPatientId": PATIENT}]},
                    {"operator": "EQUAL", "values": [{"isPrimary": primary}]},
                ]
            }
            pages = self.boto.get_paginator("search_image_sets").paginate(
                datastoreId=self.datastore_id, searchCriteria=criteria
            )
            for page in pages:
                for summary in page["imageSetsMetadataSummaries"]:
                    found[summary["imageSetId"]] = self.state(summary["imageSetId"])
        return found

    def state(self, image_set_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.boto.get_image_set(datastoreId=self.datastore_id, imageSetId=image_set_id)
        return found

    def versions(self) -> dict[str, str]:
        return {image_set_id: state["versionId"] for image_set_id, state in self.image_sets().items()}

    def patient_name(self, image_set_id: str) -> str:
        blob = self.boto.get_image_set_metadata(datastoreId=self.datastore_id, imageSetId=image_set_id)
        name: str = json.loads(gzip.decompress(blob["imageSetMetadataBlob"].read()))["Patient"]["DICOM"]["PatientName"]
        return name


class Asker:
    """An elicitation callback answering every question with `action`, remembering the questions."""

    def __init__(self, action: str) -> None:
        self.action = action
        self.questions: list[str] = []

    async def __call__(self, context: Any, params: Any) -> ElicitResult:
        self.questions.append(params.message)
        if self.action == "accept":
            return ElicitResult(action="accept", content={"confirm": True})
        return ElicitResult(action=self.action)  # type: ignore[arg-type]
