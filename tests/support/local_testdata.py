"""Small synthetic DICOM instances for the local-service conformance tests (fast to import)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.uid import UID, CTImageStorage, generate_uid

from tests.support.dicom_files import with_meta


def synthetic_uid(*parts: object) -> UID:
    """A deterministic UID, so re-importing the same synthetic file gives the same UIDs."""
    return generate_uid(entropy_srcs=["local-conformance", *(str(p) for p in parts)])


@dataclass(frozen=True)
class SeriesSpec:
    """Identity of a small synthetic CT series; `key` names it and derives its UIDs."""

    key: str = "series-a"
    patient_id: str = "PAT-T-001"
    patient_name: str = "TEST^PATIENT"
    accession_number: str = "ACC-T-001"
    study_id: str = "ST1"
    study_date: str = "20240105"
    study_time: str = "101500"
    study_key: str = "study-a"
    series_number: int = 1
    modality: str = "CT"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def study_uid(self) -> str:
        return str(synthetic_uid("study", self.study_key))

    @property
    def series_uid(self) -> str:
        return str(synthetic_uid("series", self.study_key, self.key))

    def sop_uid(self, number: int) -> str:
        return str(synthetic_uid("instance", self.study_key, self.key, number))


def ct_instance(spec: SeriesSpec, number: int, *, size: int = 8, frames: int = 1) -> Dataset:
    """One signed 16-bit CT instance with deterministic random pixels (`frames` > 1 gives a multi-frame one)."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = spec.sop_uid(number)
    ds.PatientName = spec.patient_name
    ds.PatientID = spec.patient_id
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyInstanceUID = spec.study_uid
    ds.StudyDate = spec.study_date
    ds.StudyTime = spec.study_time
    ds.AccessionNumber = spec.accession_number
    ds.StudyID = spec.study_id
    ds.StudyDescription = "CONFORMANCE STUDY"
    ds.ReferringPhysicianName = ""
    ds.SeriesInstanceUID = spec.series_uid
    ds.SeriesNumber = spec.series_number
    ds.Modality = spec.modality
    ds.BodyPartExamined = "CHEST"
    ds.InstanceNumber = number
    ds.ImagePositionPatient = [0, 0, float(number)]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.5, 0.5]
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    for keyword, value in spec.extra.items():
        setattr(ds, keyword, value)
    rng = np.random.default_rng([zlib.crc32(spec.key.encode()), number])
    pixels = rng.integers(-1000, 3000, size=(frames, size, size), dtype=np.int16)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = size
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = pixels.tobytes()
    return with_meta(ds)


def encapsulated_instance(spec: SeriesSpec, number: int, transfer_syntax: UID | str, fragments: list[bytes]) -> Dataset:
    """An instance whose pixel data is `fragments` encapsulated under `transfer_syntax` (not decodable as such)."""
    ds = ct_instance(spec, number)
    ds.file_meta.TransferSyntaxUID = UID(transfer_syntax)
    ds.PixelData = encapsulate(fragments)
    ds["PixelData"].VR = "OB"
    ds.NumberOfFrames = len(fragments)
    return ds


def series(spec: SeriesSpec, count: int, *, start: int = 1, frames: int = 1) -> list[Dataset]:
    return [ct_instance(spec, number, frames=frames) for number in range(start, start + count)]


CORRUPT_DICOM = b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\xff" + b"garbage"
NOT_DICOM = b"%PDF-1.4 this is a report, not an image\n"
