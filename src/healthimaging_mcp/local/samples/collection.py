"""The demo PACS: three fake patients whose studies exercise many modalities and transfer syntaxes.

The collection is a synthesised contrast chest CT (see `phantom.py`) plus pydicom's bundled test files,
re-homed into the demo patients with new deterministic UIDs and their pixel data and transfer syntax
untouched. Everything is deterministic: the same code writes byte-identical files, so re-importing the
samples is idempotent. `large_series` makes a separate many-instance series for benchmarks.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian, generate_uid

from .phantom import ChestPhantom, PhantomGeometry, ct_image_attributes, ct_slice

__all__ = [
    "BUNDLED_FILES",
    "PATIENTS",
    "PHANTOM_SLICES",
    "DemoPatient",
    "DemoStudy",
    "SampleFile",
    "SampleUnavailable",
    "attach_file_meta",
    "bundled_test_files_dir",
    "large_series",
    "load_bundled",
    "patient_archive",
    "phantom_key",
    "rehome",
    "sample_datasets",
    "sample_uid",
    "synth_ct_series",
]

logger = logging.getLogger(__name__)

UID_NAMESPACE = "healthimaging-mcp/samples/v1"
PHANTOM_SLICES = 128
INSTITUTION = "DEMO GENERAL HOSPITAL"
IMPLEMENTATION_VERSION = "HIMCP_SAMPLES_1"


def sample_uid(*parts: object) -> UID:
    """A deterministic UID for the sample object named by `parts`."""
    return generate_uid(entropy_srcs=["|".join([UID_NAMESPACE, *(str(p) for p in parts)])])


IMPLEMENTATION_CLASS_UID = sample_uid("implementation")


def bundled_test_files_dir() -> Path:
    """pydicom's bundled test files (read directly; never through pydicom's download helpers)."""
    return Path(pydicom.__file__).parent / "data" / "test_files"


@dataclass(frozen=True)
class DemoPatient:
    """A clearly fake patient."""

    key: str
    name: str
    patient_id: str
    birth_date: str
    sex: str


@dataclass(frozen=True)
class DemoStudy:
    """One study of a demo patient; `key` is its folder name."""

    key: str
    patient: DemoPatient
    description: str
    date: str
    time: str
    accession_number: str
    study_id: str
    referring_physician: str = "DEMO^REFERRER^^DR"

    @property
    def study_instance_uid(self) -> UID:
        return sample_uid("study", self.patient.key, self.key)

    @property
    def folder(self) -> str:
        return f"{self.patient.key}/{self.key}"

    def patient_age(self) -> str:
        """Age at the study date in DICOM AS form, e.g. '056Y'."""
        born, seen = self.patient.birth_date, self.date
        years = int(seen[:4]) - int(born[:4]) - (seen[4:] < born[4:])
        return f"{years:03d}Y"


@dataclass(frozen=True)
class SampleFile:
    """One pydicom bundled file re-homed as its own single-instance series in a demo study."""

    source: str
    study: DemoStudy
    series_number: int
    series_description: str
    folder: str

    @property
    def series_instance_uid(self) -> UID:
        return sample_uid("series", self.study.folder, self.folder)

    @property
    def sop_instance_uid(self) -> UID:
        return sample_uid("instance", self.study.folder, self.folder, 1)

    @property
    def relative_path(self) -> str:
        return f"{self.study.folder}/{self.folder}/0001.dcm"


class SampleUnavailable(Exception):
    """A bundled file cannot serve as a sample (missing, unreadable, or without pixel data)."""


ALICE = DemoPatient("alice", "DEMO^ALICE", "PAT-ALICE-001", "19680314", "F")
BOB = DemoPatient("bob", "DEMO^BOB", "PAT-BOB-002", "19550927", "M")
CAROL = DemoPatient("carol", "DEMO^CAROL", "PAT-CAROL-003", "19810502", "F")
PATIENTS = (ALICE, BOB, CAROL)

ALICE_CT = DemoStudy("ct-chest", ALICE, "CT CHEST W CONTRAST", "20240312", "093015", "ACC24031201", "CT1001")
ALICE_MR = DemoStudy("mr-head", ALICE, "MR BRAIN WO CONTRAST", "20231105", "141000", "ACC23110502", "MR2001")
BOB_US = DemoStudy("us-abdomen", BOB, "US ABDOMEN COMPLETE", "20240117", "110500", "ACC24011703", "US3001")
BOB_NM = DemoStudy("nm-bone", BOB, "NM BONE SCAN WHOLE BODY", "20240220", "081500", "ACC24022004", "NM4001")
CAROL_CT = DemoStudy("ct-head", CAROL, "CT HEAD WO CONTRAST", "20240402", "201200", "ACC24040205", "CT5001")
CAROL_SEG = DemoStudy("ct-liver", CAROL, "CT ABDOMEN LIVER SEGMENTATION", "20240410", "100000", "ACC24041006", "CT5002")
CAROL_RT = DemoStudy("rt-plan", CAROL, "RT PLAN ABDOMEN", "20240418", "153000", "ACC24041807", "RT6001")

PHANTOM_STUDY = ALICE_CT
PHANTOM_SERIES_NUMBER = 2
PHANTOM_SERIES_DESCRIPTION = "AXIAL 2.5MM"
PHANTOM_FOLDER = "axial-2.5mm"

BUNDLED_FILES: tuple[SampleFile, ...] = (
    SampleFile("CT_small.dcm", ALICE_CT, 3, "AXIAL LOW DOSE 128", "low-dose"),
    SampleFile("MR_small.dcm", ALICE_MR, 1, "T1 AXIAL", "t1-axial"),
    SampleFile("MR_small_RLE.dcm", ALICE_MR, 2, "T1 AXIAL (RLE)", "t1-axial-rle"),
    SampleFile("MR_small_jp2klossless.dcm", ALICE_MR, 3, "T1 AXIAL (J2K LOSSLESS)", "t1-axial-j2k"),
    SampleFile("MR_small_jpeg_ls_lossless.dcm", ALICE_MR, 4, "T1 AXIAL (JPEG-LS)", "t1-axial-jls"),
    SampleFile("examples_overlay.dcm", ALICE_MR, 5, "T1 MPR WITH OVERLAY", "t1-mpr-overlay"),
    SampleFile("examples_ybr_color.dcm", BOB_US, 1, "CARDIAC CINE (JPEG YBR)", "cine-ybr"),
    SampleFile("examples_rgb_color.dcm", BOB_US, 2, "LIVER RGB", "liver-rgb"),
    SampleFile("examples_palette.dcm", BOB_US, 3, "DOPPLER PALETTE", "doppler-palette"),
    SampleFile("examples_jpeg2k.dcm", BOB_US, 4, "KIDNEY (J2K LOSSLESS COLOR)", "kidney-j2k"),
    SampleFile("JPEG2000.dcm", BOB_NM, 1, "WHOLE BODY ANT (J2K)", "wb-j2k"),
    SampleFile("JPEG-lossy.dcm", BOB_NM, 2, "WHOLE BODY ANT (JPEG 12-BIT)", "wb-jpeg12"),
    SampleFile("SC_rgb_jpeg_gdcm.dcm", BOB_NM, 3, "KEY IMAGES (JPEG LOSSLESS)", "key-ljpeg"),
    SampleFile("SC_rgb_rle_2frame.dcm", BOB_NM, 4, "KEY IMAGES (RLE 2 FRAMES)", "key-rle"),
    SampleFile("image_dfl.dcm", BOB_NM, 5, "SCREEN CAPTURE (DEFLATE)", "capture-deflate"),
    SampleFile("693_J2KI.dcm", CAROL_CT, 2, "AXIAL 5MM (J2K LOSSY)", "axial-j2k"),
    SampleFile("liver_1frame.dcm", CAROL_SEG, 100, "LIVER SEGMENTATION", "liver-seg"),
    SampleFile("rtdose.dcm", CAROL_RT, 1, "RT DOSE", "dose"),
)

# Attributes of the source files that would leak another identity into a demo patient, or make the
# study-level attributes of one demo study disagree between its series.
_FOREIGN_PATIENT_ATTRIBUTES = (
    "OtherPatientIDs", "OtherPatientIDsSequence", "OtherPatientNames", "PatientBirthTime",
    "PatientAddress", "PatientComments", "PatientTelephoneNumbers", "PatientMotherBirthName",
    "IssuerOfPatientID", "EthnicGroup", "PatientSize", "PatientWeight", "AdditionalPatientHistory",
    "PregnancyStatus", "StudyComments", "RequestedProcedureDescription", "NameOfPhysiciansReadingStudy",
    "OperatorsName", "InstitutionAddress",
)  # fmt: skip
_DATES_TO_ALIGN = ("SeriesDate", "ContentDate", "AcquisitionDate", "InstanceCreationDate")


def attach_file_meta(ds: Dataset, transfer_syntax_uid: str) -> Dataset:
    """Give `ds` fresh Part 10 file meta for its SOP class/instance and the given transfer syntax."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = UID(transfer_syntax_uid)
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    ds.file_meta = meta
    ds.preamble = b"\x00" * 128
    return ds


def _apply_identity(ds: Dataset, study: DemoStudy) -> None:
    """Set the patient and study attributes of a demo study on `ds`."""
    patient = study.patient
    for keyword in _FOREIGN_PATIENT_ATTRIBUTES:
        if keyword in ds:
            delattr(ds, keyword)
    ds.PatientName = patient.name
    ds.PatientID = patient.patient_id
    ds.PatientBirthDate = patient.birth_date
    ds.PatientSex = patient.sex
    ds.PatientAge = study.patient_age()
    ds.StudyInstanceUID = study.study_instance_uid
    ds.StudyDate = study.date
    ds.StudyTime = study.time
    ds.AccessionNumber = study.accession_number
    ds.StudyID = study.study_id
    ds.StudyDescription = study.description
    ds.ReferringPhysicianName = study.referring_physician
    ds.InstitutionName = INSTITUTION


def load_bundled(sample: SampleFile) -> Dataset:
    """Read a bundled file; raise SampleUnavailable with the reason when it cannot be used."""
    path = bundled_test_files_dir() / sample.source
    try:
        ds = pydicom.dcmread(path)
    except (OSError, InvalidDicomError, ValueError, EOFError) as exc:
        raise SampleUnavailable(f"{sample.source}: unreadable ({exc})") from exc
    if "PixelData" not in ds:
        raise SampleUnavailable(f"{sample.source}: no PixelData")
    if "TransferSyntaxUID" not in ds.file_meta or "SOPClassUID" not in ds:
        raise SampleUnavailable(f"{sample.source}: no transfer syntax or SOP class")
    return ds


def rehome(source: Dataset, sample: SampleFile) -> Dataset:
    """A copy of `source` moved into the sample's demo study and series (pixel data untouched)."""
    ds = copy.deepcopy(source)
    _apply_identity(ds, sample.study)
    ds.SeriesInstanceUID = sample.series_instance_uid
    ds.SOPInstanceUID = sample.sop_instance_uid
    ds.SeriesNumber = sample.series_number
    ds.SeriesDescription = sample.series_description
    ds.InstanceNumber = 1
    for keyword in _DATES_TO_ALIGN:
        if keyword in ds:
            setattr(ds, keyword, sample.study.date)
    if "FrameOfReferenceUID" in ds:
        ds.FrameOfReferenceUID = sample_uid("frame-of-reference", sample.study.folder, sample.folder)
    return attach_file_meta(ds, source.file_meta.TransferSyntaxUID)


def _ct_template(study: DemoStudy, geometry: PhantomGeometry, key: str, series: tuple[int, str]) -> Dataset:
    """Series-constant attributes of a synthetic CT series in `study`."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CTImageStorage
    _apply_identity(ds, study)
    ds.SeriesDate = ds.ContentDate = ds.AcquisitionDate = study.date
    ds.SeriesTime = study.time
    ds.SeriesInstanceUID = sample_uid("series", key)
    ds.SeriesNumber, ds.SeriesDescription = series
    ds.FrameOfReferenceUID = sample_uid("frame-of-reference", key)
    return ct_image_attributes(ds, geometry)


def phantom_key(n_slices: int, seed: int) -> str:
    """What the UIDs of the phantom series of `n_slices` slices derive from (`sample_uid("series", key)`…)."""
    return f"{PHANTOM_STUDY.folder}/{PHANTOM_FOLDER}/{n_slices}/{seed}"


def synth_ct_series(n_slices: int = PHANTOM_SLICES, *, seed: int = 0) -> Iterator[Dataset]:
    """The synthetic chest CT of DEMO^ALICE, generated one slice at a time."""
    geometry = PhantomGeometry(n_slices=n_slices)
    phantom = ChestPhantom(geometry, seed=seed)
    key = phantom_key(n_slices, seed)
    template = _ct_template(PHANTOM_STUDY, geometry, key, (PHANTOM_SERIES_NUMBER, PHANTOM_SERIES_DESCRIPTION))
    for index in range(n_slices):
        uid = sample_uid("instance", key, index + 1)
        ds = ct_slice(template, geometry, index, phantom.stored_slice(index), uid)
        yield attach_file_meta(ds, ExplicitVRLittleEndian)


def sample_datasets(*, n_ct_slices: int = PHANTOM_SLICES) -> Iterator[tuple[str, Dataset]]:
    """(relative file name, dataset) for the whole sample collection, produced lazily."""
    for ds in synth_ct_series(n_ct_slices):
        yield f"{PHANTOM_STUDY.folder}/{PHANTOM_FOLDER}/{ds.InstanceNumber:04d}.dcm", ds
    for sample in BUNDLED_FILES:
        try:
            source = load_bundled(sample)
        except SampleUnavailable as exc:
            logger.warning("Skipping sample: %s", exc)
            continue
        yield sample.relative_path, rehome(source, sample)


_LARGE_FRAME_VARIANTS = 32
_BENCH_STUDY = "BENCHMARK LARGE SERIES"


def large_series(n_instances: int = 1000, size: int = 64, *, seed: int = 0) -> Iterator[Dataset]:
    """One CT series of `n_instances` small slices (own patient/study) for import and summary benchmarks."""
    patient = DemoPatient(f"bench-{seed}", f"BENCH^SERIES{seed}", f"PAT-BENCH-{seed:04d}", "19700101", "O")
    study = DemoStudy(f"large-{size}", patient, _BENCH_STUDY, "20240101", "120000", f"BN{seed}", f"B{seed}")
    spacing = 400.0 / size
    geometry = PhantomGeometry(n_slices=min(n_instances, _LARGE_FRAME_VARIANTS) or 1, size=size, pixel_spacing=spacing)
    phantom = ChestPhantom(geometry, seed=seed)
    frames = [phantom.stored_slice(i) for i in range(geometry.n_slices)]
    key = f"{study.folder}/{seed}"
    template = _ct_template(study, geometry, key, (1, f"BENCH {size}PX"))
    template.SliceThickness = template.SpacingBetweenSlices = "1"
    stepping = PhantomGeometry(n_slices=n_instances, size=size, pixel_spacing=spacing, slice_thickness=1.0)
    for index in range(n_instances):
        variant = frames[index * len(frames) // n_instances]
        ds = ct_slice(template, stepping, index, variant, sample_uid("instance", key, index + 1))
        yield attach_file_meta(ds, ExplicitVRLittleEndian)


ARCHIVE_PATIENT = DemoPatient("archive", "DEMO^ARCHIVE", "PAT-ARCHIVE-004", "19600101", "F")


def patient_archive(
    n_series: int, *, n_studies: int = 4, size: int = 16, patient: DemoPatient = ARCHIVE_PATIENT
) -> Iterator[Dataset]:
    """One patient with `n_series` one-slice CT series (one image set each) spread over `n_studies` studies:
    whole-patient work (overviews, plans, erasure) in tests and benchmarks."""
    geometry = PhantomGeometry(n_slices=1, size=size, pixel_spacing=400.0 / size)
    pixels = ChestPhantom(geometry, seed=0).stored_slice(0)
    studies = [
        DemoStudy(
            f"archive-{i}",
            patient,
            f"CT FOLLOW-UP {i + 1}",
            f"2023{i % 12 + 1:02d}15",
            "090000",
            f"ACA{i:05d}",
            f"A{i}",
        )
        for i in range(n_studies)
    ]
    for index in range(n_series):
        study = studies[index % n_studies]
        key = f"{study.folder}/{index}"
        template = _ct_template(study, geometry, key, (index + 1, f"FOLLOW-UP SERIES {index + 1}"))
        ds = ct_slice(template, geometry, 0, pixels, sample_uid("instance", key, 1))
        yield attach_file_meta(ds, ExplicitVRLittleEndian)
