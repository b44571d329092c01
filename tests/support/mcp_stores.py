"""Fresh local services holding known data for the MCP tests: small synthetic CT series, the archive patient."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from healthimaging_mcp.local.samples.collection import ARCHIVE_PATIENT, patient_archive, synth_ct_series
from healthimaging_mcp.local.service import LocalService
from tests.support.dicom_files import part10
from tests.support.local_kit import read_metadata


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
        return read_metadata(self.boto, self.datastore_id, image_set_id, version)


PATIENT = ARCHIVE_PATIENT.patient_id
SERIES = 5  # one-slice series in two studies, plus one non-primary image set: 6 image sets of the patient


class PatientArchive:
    """The archive patient's image sets (`series` in two studies, plus one non-primary) in a local service."""

    def __init__(self, service: LocalService, series: int = SERIES) -> None:
        self.service = service
        self.boto = service.client()
        self.datastore_id: str = self.boto.create_datastore(datastoreName="plans")["datastoreId"]
        datasets = list(patient_archive(series, n_studies=2))
        self.series_uids = [str(ds.SeriesInstanceUID) for ds in datasets]
        files = [(f"{i}.dcm", partial(part10, ds)) for i, ds in enumerate(datasets)]
        service.backend.import_files(self.datastore_id, files)
        datasets[0].AccessionNumber = "CONFLICTING"  # the same series again: a non-primary image set
        service.backend.import_files(self.datastore_id, [("again.dcm", partial(part10, datasets[0]))])

    def image_sets(self) -> dict[str, dict[str, Any]]:
        """Image set ID → GetImageSet, for every image set of the patient (primary and non-primary)."""
        found: dict[str, dict[str, Any]] = {}
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
        name: str = read_metadata(self.boto, self.datastore_id, image_set_id)["Patient"]["DICOM"]["PatientName"]
        return name
