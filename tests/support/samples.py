"""The sample collection as the tests inspect it: written out as files, and summarised patient by patient."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom.uid import ExplicitVRLittleEndian

from healthimaging_mcp.local.samples import collection
from healthimaging_mcp.local.samples.collection import (
    PATIENTS,
    PHANTOM_SERIES_DESCRIPTION,
    PHANTOM_SERIES_NUMBER,
    PHANTOM_SLICES,
    PHANTOM_STUDY,
    DemoStudy,
    SampleUnavailable,
    load_bundled,
    phantom_key,
    sample_datasets,
    sample_uid,
)
from healthimaging_mcp.local.service import LocalService
from tests.support.local_kit import read_metadata


@dataclass(frozen=True)
class SampleFacts:
    """What the seeded sample datastore holds, read with plain boto3."""

    datastore_id: str
    summaries: list[dict[str, Any]]
    ct_image_set_id: str  # the 128-slice synthetic chest CT
    ct_series_uid: str
    ct_document: dict[str, Any]

    @property
    def image_set_ids(self) -> set[str]:
        return {s["imageSetId"] for s in self.summaries}

    def ct_instances(self) -> list[tuple[int, str, str]]:
        """(instance number, SOP instance UID, image frame ID) of the CT, by instance number."""
        series = self.ct_document["Study"]["Series"][self.ct_series_uid]["Instances"]
        rows = [(int(i["DICOM"]["InstanceNumber"]), uid, i["ImageFrames"][0]["ID"]) for uid, i in series.items()]
        return sorted(rows)


def read_sample_facts(service: LocalService, datastore_id: str) -> SampleFacts:
    """The facts of the seeded sample datastore `datastore_id`, read with plain boto3."""
    client = service.client()
    summaries: list[dict[str, Any]] = []
    for page in client.get_paginator("search_image_sets").paginate(datastoreId=datastore_id):
        summaries += page["imageSetsMetadataSummaries"]
    ct = max(summaries, key=lambda s: s["DICOMTags"].get("DICOMNumberOfStudyRelatedInstances", 0))
    return SampleFacts(
        datastore_id=datastore_id,
        summaries=summaries,
        ct_image_set_id=ct["imageSetId"],
        ct_series_uid=ct["DICOMTags"]["DICOMSeriesInstanceUID"],
        ct_document=read_metadata(client, datastore_id, ct["imageSetId"]),
    )


def write_samples(dest: Path, *, n_ct_slices: int = PHANTOM_SLICES) -> list[Path]:
    """Write the sample collection under `dest` as DICOM Part 10 files; return their paths."""
    written: list[Path] = []
    for relative, ds in sample_datasets(n_ct_slices=n_ct_slices):
        path = Path(dest) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(path, enforce_file_format=True)
        written.append(path)
    return written


def _series_entry(uid: str, number: int, description: str, modality: str, syntax: str, frames: int) -> dict[str, Any]:
    return {
        "series_instance_uid": uid,
        "series_number": number,
        "series_description": description,
        "modality": modality,
        "transfer_syntax_uid": syntax,
        "instances": 1,
        "frames": frames,
    }


def _series_number(entry: dict[str, Any]) -> int:
    return int(entry["series_number"])


def sample_summary(*, n_ct_slices: int = PHANTOM_SLICES) -> dict[str, Any]:
    """Patients → studies → series with instance counts, plus any bundled files that were skipped."""
    series: dict[DemoStudy, list[dict[str, Any]]] = {}
    phantom_uid = sample_uid("series", phantom_key(n_ct_slices, 0))
    phantom = _series_entry(
        phantom_uid, PHANTOM_SERIES_NUMBER, PHANTOM_SERIES_DESCRIPTION, "CT", ExplicitVRLittleEndian,
        n_ct_slices,
    )  # fmt: skip
    phantom["instances"] = n_ct_slices
    series[PHANTOM_STUDY] = [phantom]
    skipped: dict[str, str] = {}
    for sample in collection.BUNDLED_FILES:  # read at call time: a test may replace the list
        try:
            ds = load_bundled(sample)
        except SampleUnavailable as exc:
            skipped[sample.source] = str(exc)
            continue
        frames = int(ds.get("NumberOfFrames") or 1)
        entry = _series_entry(
            sample.series_instance_uid, sample.series_number, sample.series_description, ds.Modality,
            ds.file_meta.TransferSyntaxUID, frames,
        )  # fmt: skip
        series.setdefault(sample.study, []).append(entry)
    patients = []
    for patient in PATIENTS:
        studies: list[dict[str, Any]] = [
            {
                "study_instance_uid": study.study_instance_uid,
                "study_description": study.description,
                "study_date": study.date,
                "accession_number": study.accession_number,
                "series": sorted(entries, key=_series_number),
            }
            for study, entries in series.items()
            if study.patient == patient
        ]
        patients.append({"patient_id": patient.patient_id, "patient_name": patient.name, "studies": studies})
    all_series = [entry for entries in series.values() for entry in entries]
    totals = {
        "patients": len(PATIENTS),
        "studies": len(series),
        "series": len(all_series),
        "instances": sum(entry["instances"] for entry in all_series),
    }
    return {"patients": patients, "totals": totals, "skipped": skipped}
