"""Synthesised test objects for frame addressing: an enhanced MR whose frames differ in window, rescale and
spacing, and a series whose instances share instance numbers (and, for two of them, positions)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from tests.support.dicom_files import item, with_meta

ENHANCED_MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4.1"
MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"


@dataclass(frozen=True)
class FrameFacts:
    """What frame `index` of the enhanced MR must be shown with."""

    index: int
    center: float
    width: float
    slope: float
    intercept: float
    spacing: tuple[float, float]  # (row, column) in mm


#: Frame 0 is windowed C13/W23 as in the report; the others have their own windows, rescales and spacing.
ENHANCED_FRAMES = (
    FrameFacts(0, 13.0, 23.0, 1.0, 0.0, (1.0, 1.0)),
    FrameFacts(1, 1070.0, 1860.0, 2.0, -100.0, (1.0, 1.0)),
    FrameFacts(2, 300.0, 500.0, 0.5, 10.0, (1.0, 2.0)),
    FrameFacts(3, 2000.0, 800.0, 4.0, 0.0, (2.0, 1.0)),
)
ROWS, COLUMNS = 40, 60


def _base(sop_class: str, series_uid: str, study_uid: str, *, description: str) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = study_uid + ".1"
    ds.PatientName = "TEST^ENHANCED"
    ds.PatientID = "PAT-ENH-001"
    ds.StudyDate = "20240501"
    ds.StudyTime = "120000"
    ds.AccessionNumber = "ACCENH1"
    ds.StudyID = "ENH1"
    ds.Modality = "MR"
    ds.SeriesNumber = 1
    ds.SeriesDescription = description
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = ROWS, COLUMNS
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    return ds


def frame_pixels(index: int) -> np.ndarray:
    """A distinct ramp per frame: stored values 0..~4000 across the columns, plus a per-frame offset."""
    ramp = np.linspace(0, 3600, COLUMNS, dtype=np.float64)[None, :] + np.arange(ROWS)[:, None] * 5
    return (ramp + index * 37).astype(np.uint16)


def enhanced_mr() -> Dataset:
    """One Enhanced MR instance of len(ENHANCED_FRAMES) frames with per-frame functional groups only."""
    study = generate_uid()
    ds = _base(ENHANCED_MR_STORAGE, generate_uid(), study, description="ENHANCED MR PER-FRAME")
    ds.InstanceNumber = 1
    ds.NumberOfFrames = len(ENHANCED_FRAMES)
    ds.SharedFunctionalGroupsSequence = Sequence(
        [item(PlaneOrientationSequence=Sequence([item(ImageOrientationPatient=[1, 0, 0, 0, 1, 0])]))]
    )
    per_frame = []
    for facts in ENHANCED_FRAMES:
        per_frame.append(
            item(
                FrameVOILUTSequence=Sequence([item(WindowCenter=facts.center, WindowWidth=facts.width)]),
                PixelValueTransformationSequence=Sequence(
                    [item(RescaleSlope=facts.slope, RescaleIntercept=facts.intercept, RescaleType="US")]
                ),
                PixelMeasuresSequence=Sequence([item(PixelSpacing=list(facts.spacing), SliceThickness=2.0)]),
                PlanePositionSequence=Sequence([item(ImagePositionPatient=[0, 0, 2.0 * facts.index])]),
                FrameContentSequence=Sequence([item(InStackPositionNumber=facts.index + 1)]),
            )
        )
    ds.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    ds.PixelData = np.stack([frame_pixels(f.index) for f in ENHANCED_FRAMES]).tobytes()
    return with_meta(ds)


def shared_number_series() -> list[Dataset]:
    """Five single-frame MR instances: numbers 5, 5 (positions 0 and 10), 6, and 7, 7 at the same position."""
    study, series = generate_uid(), generate_uid()
    layout = [(5, 0.0, 1), (5, 10.0, 2), (6, 20.0, 1), (7, 30.0, 1), (7, 30.0, 2)]
    datasets = []
    for number, (instance_number, z, acquisition) in enumerate(layout):
        ds = _base(MR_STORAGE, series, study, description="REPEATED NUMBERS")
        ds.InstanceNumber = instance_number
        ds.AcquisitionNumber = acquisition
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [0, 0, z]
        ds.PixelSpacing = [1, 1]
        ds.PixelData = frame_pixels(number).tobytes()
        datasets.append(with_meta(ds))
    return datasets
