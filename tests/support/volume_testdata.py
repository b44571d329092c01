"""Synthetic CT series of known geometry for the volume tests: spheres of known radius and HU in a series whose
orientation, slice positions (uneven, with gaps) and instance numbering are chosen by the test."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import CTImageStorage, generate_uid

from healthimaging_mcp.local.service import LocalService
from tests.support.dicom_files import item, part10, with_meta

ENHANCED_CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2.1"
INTERCEPT = -1024.0


@dataclass(frozen=True)
class Sphere:
    center: tuple[float, float, float]  # patient mm (LPS)
    radius: float
    hu: float

    @property
    def volume_ml(self) -> float:
        return float(4.0 / 3.0 * np.pi * self.radius**3 / 1000.0)


def tilted(degrees: float) -> tuple[float, ...]:
    """ImageOrientationPatient of axial slices tilted `degrees` about the patient's x axis (an oblique axial)."""
    angle = np.radians(degrees)
    return (1.0, 0.0, 0.0, 0.0, float(np.cos(angle)), float(np.sin(angle)))


@dataclass(frozen=True)
class SyntheticCT:
    """One CT series: `offsets` are the slice positions along the normal (mm from `center`), in the order the
    instances are numbered (so numbering need not follow position)."""

    spheres: tuple[Sphere, ...]
    offsets: tuple[float, ...] = tuple(-30.0 + 2.0 * k for k in range(31))
    size: int = 64
    pixel_spacing: float = 1.0
    orientation: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    center: tuple[float, float, float] = (0.0, 0.0, 0.0)
    background: float = 0.0
    noise: float = 0.0
    patient_id: str = "PAT-VOL-001"
    study_uid: str = field(default_factory=generate_uid)
    series_uid: str = field(default_factory=generate_uid)
    frame_of_reference: str = field(default_factory=generate_uid)
    study_date: str = "20240501"
    series_number: int = 1
    description: str = "SPHERES"
    body_part: str = "CHEST"
    modality: str = "CT"

    @property
    def row_direction(self) -> np.ndarray:
        return np.array(self.orientation[:3])

    @property
    def column_direction(self) -> np.ndarray:
        return np.array(self.orientation[3:])

    @property
    def normal(self) -> np.ndarray:
        return np.cross(self.row_direction, self.column_direction)

    def position(self, offset: float) -> np.ndarray:
        """ImagePositionPatient (first pixel's centre) of the slice at `offset`."""
        half = (self.size - 1) / 2.0 * self.pixel_spacing
        centre = np.array(self.center) + offset * self.normal
        result: np.ndarray = centre - half * (self.row_direction + self.column_direction)
        return result

    def hu_slice(self, offset: float, index: int = 0) -> np.ndarray:
        """HU at the pixel centres of the slice at `offset` (spheres over the background, optional noise)."""
        steps = np.arange(self.size) * self.pixel_spacing
        points = (
            self.position(offset)
            + steps[:, None, None] * self.column_direction
            + steps[None, :, None] * self.row_direction
        )
        hu = np.full((self.size, self.size), self.background, dtype=np.float64)
        for sphere in self.spheres:
            inside = np.sum((points - np.array(sphere.center)) ** 2, axis=-1) <= sphere.radius**2
            hu[inside] = sphere.hu
        if self.noise:
            hu += np.random.default_rng(index).normal(0.0, self.noise, hu.shape)
        return hu

    def datasets(self) -> list[Dataset]:
        return [self._slice(number, offset) for number, offset in enumerate(self.offsets, start=1)]

    def _header(self, sop_class: str) -> Dataset:
        ds = Dataset()
        ds.SOPClassUID = sop_class
        ds.SOPInstanceUID = generate_uid()
        ds.StudyInstanceUID = self.study_uid
        ds.SeriesInstanceUID = self.series_uid
        ds.FrameOfReferenceUID = self.frame_of_reference
        ds.PatientName = "TEST^VOLUME"
        ds.PatientID = self.patient_id
        ds.StudyDate = self.study_date
        ds.StudyTime = "100000"
        ds.AccessionNumber = f"ACC{self.study_date}"
        ds.StudyID = "1"
        ds.StudyDescription = f"{self.modality} {self.body_part}"
        ds.Modality = self.modality
        ds.BodyPartExamined = self.body_part
        ds.SeriesNumber = self.series_number
        ds.SeriesDescription = self.description
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = ds.Columns = self.size
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        ds.PixelRepresentation = 1
        ds.WindowCenter, ds.WindowWidth = "40", "400"
        return ds

    def _stored(self, offset: float, index: int) -> bytes:
        return np.rint(self.hu_slice(offset, index) - INTERCEPT).astype("<i2").tobytes()

    def _slice(self, number: int, offset: float) -> Dataset:
        ds = self._header(CTImageStorage)
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.InstanceNumber = number
        ds.ImageOrientationPatient = [f"{v:.6f}" for v in self.orientation]
        ds.ImagePositionPatient = [f"{v:.4f}" for v in self.position(offset)]
        ds.PixelSpacing = [self.pixel_spacing, self.pixel_spacing]
        ds.SliceThickness = 2.0
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = str(INTERCEPT), "1", "HU"
        ds.PixelData = self._stored(offset, number)
        return with_meta(ds)

    def enhanced(self) -> Dataset:
        """The same series as one Enhanced CT instance: per-frame positions, frames in `offsets` order."""
        ds = self._header(ENHANCED_CT_STORAGE)
        ds.InstanceNumber = 1
        ds.NumberOfFrames = len(self.offsets)
        ds.SharedFunctionalGroupsSequence = DicomSequence(
            [
                item(
                    PlaneOrientationSequence=DicomSequence([item(ImageOrientationPatient=list(self.orientation))]),
                    PixelMeasuresSequence=DicomSequence(
                        [item(PixelSpacing=[self.pixel_spacing] * 2, SliceThickness=2.0)]
                    ),
                    PixelValueTransformationSequence=DicomSequence(
                        [item(RescaleIntercept=INTERCEPT, RescaleSlope=1.0, RescaleType="HU")]
                    ),
                )
            ]
        )
        ds.PerFrameFunctionalGroupsSequence = DicomSequence(
            [
                item(PlanePositionSequence=DicomSequence([item(ImagePositionPatient=list(self.position(o)))]))
                for o in self.offsets
            ]
        )
        ds.PixelData = b"".join(self._stored(o, k) for k, o in enumerate(self.offsets))
        return with_meta(ds)


def import_series(service: LocalService, datastore_id: str, series: Iterable[Sequence[Dataset]]) -> list[str]:
    """Import each series (a list of datasets) through the local service; the image set ID of each, in order."""
    ids = []
    for k, datasets in enumerate(series):
        files = [(f"s{k}/{i}.dcm", partial(part10, ds)) for i, ds in enumerate(datasets)]
        report = service.backend.import_files(datastore_id, files)
        assert not report.failures, report.failures
        (imported,) = report.image_sets
        ids.append(imported.image_set_id)
    return ids


def new_datastore(service: LocalService, name: str = "volumes") -> str:
    datastore_id: str = service.client().create_datastore(datastoreName=name)["datastoreId"]
    return datastore_id
