"""The demo sample collection: counts, valid Part 10 files, phantom anatomy, geometry and determinism."""

from __future__ import annotations

import itertools
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import (
    JPEG2000,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)

from healthimaging_mcp.local.samples import collection as samples
from healthimaging_mcp.local.samples.collection import (
    BUNDLED_FILES,
    PATIENTS,
    large_series,
    sample_datasets,
    synth_ct_series,
)
from healthimaging_mcp.local.samples.phantom import LANDMARKS_MM, REFERENCE_LENGTH_MM
from tests.support.samples import sample_summary, write_samples

PHANTOM_FOLDER = "alice/ct-chest/axial-2.5mm"


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("samples")


@pytest.fixture(scope="module")
def written(sample_root: Path) -> list[Path]:
    """The full default sample collection, written once for the module."""
    return write_samples(sample_root)


@pytest.fixture(scope="module")
def headers(written: list[Path]) -> dict[Path, Dataset]:
    return {path: pydicom.dcmread(path, stop_before_pixels=True) for path in written}


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    return sample_summary()


@pytest.fixture(scope="module")
def short_series() -> list[Dataset]:
    """An 8-slice phantom: sweeps the same anatomy as the full series, fast enough for HU checks."""
    return list(synth_ct_series(n_slices=8))


def _hu(ds: Dataset) -> np.ndarray:
    return ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)


def _pixel_at(ds: Dataset, x_mm: float, y_mm: float) -> tuple[int, int]:
    """(row, column) of a patient point, from the dataset's own geometry."""
    origin_x, origin_y, _ = (float(v) for v in ds.ImagePositionPatient)
    row_spacing, column_spacing = (float(v) for v in ds.PixelSpacing)
    return round((y_mm - origin_y) / row_spacing), round((x_mm - origin_x) / column_spacing)


def _median_hu(ds: Dataset, x_mm: float, y_mm: float, half: int = 7) -> float:
    row, column = _pixel_at(ds, x_mm, y_mm)
    return float(np.median(_hu(ds)[row - half : row + half + 1, column - half : column + half + 1]))


def _slice_at_depth(series: list[Dataset], depth_mm: float) -> Dataset:
    """The slice nearest to an anatomical depth (mm along the phantom's reference length)."""
    return series[round(depth_mm / REFERENCE_LENGTH_MM * (len(series) - 1)) if len(series) > 1 else 0]


def _slice_showing(series: list[Dataset], landmark: str) -> Dataset:
    """The slice whose anatomical depth is in the middle of the landmark's range."""
    _, _, first, last = LANDMARKS_MM[landmark]
    return _slice_at_depth(series, (first + last) / 2)


def test_summary_has_several_patients_and_one_with_two_studies(summary: dict[str, Any]) -> None:
    assert summary["totals"]["patients"] >= 2
    assert max(len(p["studies"]) for p in summary["patients"]) >= 2
    assert summary["skipped"] == {}
    assert summary["totals"]["series"] == len(BUNDLED_FILES) + 1
    assert {p["patient_id"] for p in summary["patients"]} == {p.patient_id for p in PATIENTS}


def test_summary_counts_match_written_files(summary: dict[str, Any], headers: dict[Path, Dataset]) -> None:
    assert summary["totals"]["instances"] == len(headers)
    assert summary["totals"]["studies"] == len({ds.StudyInstanceUID for ds in headers.values()})
    assert summary["totals"]["series"] == len({ds.SeriesInstanceUID for ds in headers.values()})


def test_phantom_series_has_at_least_100_signed_16_bit_512_slices(written: list[Path]) -> None:
    phantom = [p for p in written if p.parent.as_posix().endswith(PHANTOM_FOLDER)]
    assert len(phantom) >= 100
    ds = pydicom.dcmread(phantom[len(phantom) // 2])
    assert (ds.Rows, ds.Columns, ds.BitsAllocated, ds.PixelRepresentation) == (512, 512, 16, 1)
    assert ds.pixel_array.dtype == np.int16
    assert (float(ds.RescaleIntercept), float(ds.RescaleSlope)) == (-1024.0, 1.0)
    assert list(ds.WindowCenter) == [40, -600] and list(ds.WindowWidth) == [400, 1500]
    assert ds.StudyDescription == "CT CHEST W CONTRAST" and ds.BodyPartExamined == "CHEST"


def test_every_file_is_part10_with_its_declared_transfer_syntax(
    written: list[Path], headers: dict[Path, Dataset], summary: dict[str, Any]
) -> None:
    declared = {
        series["series_instance_uid"]: series["transfer_syntax_uid"]
        for patient in summary["patients"]
        for study in patient["studies"]
        for series in study["series"]
    }
    for path in written:
        raw = path.read_bytes()
        assert raw[128:132] == b"DICM", path
        ds = pydicom.dcmread(path)
        assert "PixelData" in ds, path
        assert ds.file_meta.TransferSyntaxUID == declared[ds.SeriesInstanceUID], path
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID


def test_samples_cover_many_transfer_syntaxes(headers: dict[Path, Dataset]) -> None:
    syntaxes = {ds.file_meta.TransferSyntaxUID for ds in headers.values()}
    assert {
        ExplicitVRLittleEndian,
        ImplicitVRLittleEndian,
        DeflatedExplicitVRLittleEndian,
        RLELossless,
        JPEGBaseline8Bit,
        JPEGExtended12Bit,
        JPEGLosslessSV1,
        JPEGLSLossless,
        JPEG2000Lossless,
        JPEG2000,
    } <= syntaxes


def test_rehomed_files_keep_pixel_data_and_take_a_demo_identity(written: list[Path], sample_root: Path) -> None:
    by_name = {path.relative_to(sample_root).as_posix(): path for path in written}
    demo_ids = {p.patient_id for p in PATIENTS}
    for sample in BUNDLED_FILES:
        ds = pydicom.dcmread(by_name[sample.relative_path])
        source = pydicom.dcmread(samples.bundled_test_files_dir() / sample.source)
        assert ds.PixelData == source.PixelData, sample.source
        assert ds.file_meta.TransferSyntaxUID == source.file_meta.TransferSyntaxUID
        assert ds.PatientID in demo_ids and ds.PatientName != source.PatientName
        assert ds.StudyInstanceUID == sample.study.study_instance_uid != source.StudyInstanceUID
        assert ds.SOPInstanceUID != source.SOPInstanceUID
        assert "OtherPatientIDs" not in ds


def test_mr_twins_are_separate_series_of_one_study(headers: dict[Path, Dataset]) -> None:
    twins = [ds for path, ds in headers.items() if "alice/mr-head/t1-axial" in path.as_posix()]
    assert len(twins) == 4
    assert len({ds.StudyInstanceUID for ds in twins}) == 1
    assert len({ds.SeriesInstanceUID for ds in twins}) == 4
    assert len({ds.file_meta.TransferSyntaxUID for ds in twins}) == 4


def test_study_level_attributes_agree_within_each_study(headers: dict[Path, Dataset]) -> None:
    """HealthImaging files disagreeing series into non-primary image sets; the demo must not."""
    keys = (
        "PatientID",
        "PatientName",
        "StudyDate",
        "StudyTime",
        "AccessionNumber",
        "StudyID",
        "StudyDescription",
    )
    seen: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for ds in headers.values():
        seen[ds.StudyInstanceUID].add(tuple(str(ds.get(k)) for k in keys))
    assert all(len(values) == 1 for values in seen.values())


def test_uids_are_unique_across_instances(headers: dict[Path, Dataset]) -> None:
    sop_uids = [ds.SOPInstanceUID for ds in headers.values()]
    assert len(set(sop_uids)) == len(sop_uids)
    assert all(uid.is_valid for uid in sop_uids)
    series_by_folder = defaultdict(set)
    for path, ds in headers.items():
        series_by_folder[path.parent].add(ds.SeriesInstanceUID)
    assert all(len(uids) == 1 for uids in series_by_folder.values())
    assert len({next(iter(uids)) for uids in series_by_folder.values()}) == len(series_by_folder)


def test_phantom_geometry_is_consistent(headers: dict[Path, Dataset]) -> None:
    series = sorted(
        (ds for path, ds in headers.items() if path.parent.as_posix().endswith(PHANTOM_FOLDER)),
        key=lambda ds: int(ds.InstanceNumber),
    )
    assert [int(ds.InstanceNumber) for ds in series] == list(range(1, len(series) + 1))
    thickness = float(series[0].SliceThickness)
    assert thickness == float(series[0].SpacingBetweenSlices) == 2.5
    z = [float(ds.ImagePositionPatient[2]) for ds in series]
    assert np.allclose(np.abs(np.diff(z)), thickness)
    assert all(float(ds.SliceLocation) == float(ds.ImagePositionPatient[2]) for ds in series)
    assert all([float(v) for v in ds.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0] for ds in series)
    assert len({(ds.FrameOfReferenceUID, ds.SeriesInstanceUID) for ds in series}) == 1
    assert len({tuple(ds.ImagePositionPatient[:2]) for ds in series}) == 1


@pytest.mark.parametrize(
    ("landmark", "low", "high"),
    [
        ("right_lung", -910.0, -790.0),
        ("left_lung", -910.0, -790.0),
        ("descending_aorta", 210.0, 290.0),
        ("lamina", 700.0, 1100.0),
        ("liver", 40.0, 80.0),
        ("outside_body", -1010.0, -990.0),
    ],
)
def test_phantom_hu_matches_anatomy_at_landmarks(
    short_series: list[Dataset], landmark: str, low: float, high: float
) -> None:
    x, y, _, _ = LANDMARKS_MM[landmark]
    assert low <= _median_hu(_slice_showing(short_series, landmark), x, y) <= high


def test_phantom_anatomy_changes_along_z(short_series: list[Dataset]) -> None:
    x, y, _, _ = LANDMARKS_MM["right_lung"]
    chest, abdomen = _slice_showing(short_series, "right_lung"), _slice_showing(short_series, "liver")
    assert _median_hu(chest, x, y) < -700  # lung high up …
    assert 30 < _median_hu(abdomen, x, y) < 90  # … liver at the same point lower down
    top = _hu(short_series[0])
    assert not np.array_equal(top, _hu(short_series[-1]))


def test_lung_vessels_thin_out_lower_down() -> None:
    series = list(synth_ct_series(n_slices=16))

    def bright_fraction(depth: float) -> float:
        ds = _slice_at_depth(series, depth)
        row, column = _pixel_at(ds, -75.0, -14.0)
        roi = _hu(ds)[row - 30 : row + 30, column - 20 : column + 20]
        return float((roi > -500).mean())

    assert 0.0 < bright_fraction(180.0) < bright_fraction(60.0)


def test_phantom_noise_is_mild(short_series: list[Dataset]) -> None:
    row, column = _pixel_at(short_series[0], -185.0, -185.0)
    air = _hu(short_series[0])[row - 10 : row + 10, column - 10 : column + 10]
    assert 5.0 < float(air.std()) < 11.0


def test_writing_twice_gives_byte_identical_files(tmp_path: Path) -> None:
    first = write_samples(tmp_path / "a", n_ct_slices=3)
    second = write_samples(tmp_path / "b", n_ct_slices=3)
    assert [p.relative_to(tmp_path / "a") for p in first] == [p.relative_to(tmp_path / "b") for p in second]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(first, second, strict=True))


def test_default_sample_uids_are_stable(headers: dict[Path, Dataset], summary: dict[str, Any]) -> None:
    """UIDs come from fixed names, so re-seeding a store re-imports the same instances."""
    written_series = {ds.SeriesInstanceUID for ds in headers.values()}
    summarised = {s["series_instance_uid"] for p in summary["patients"] for st in p["studies"] for s in st["series"]}
    assert written_series == summarised
    first_slice = next(synth_ct_series())
    phantom_headers = [ds for ds in headers.values() if int(ds.get("InstanceNumber", 0)) == 1]
    assert first_slice.SOPInstanceUID in {ds.SOPInstanceUID for ds in phantom_headers}


def test_sample_datasets_are_lazy() -> None:
    stream = sample_datasets()
    name, ds = next(stream)
    assert name == f"{PHANTOM_FOLDER}/0001.dcm" and ds.Modality == "CT"
    assert [n for n, _ in itertools.islice(stream, 2)] == [
        f"{PHANTOM_FOLDER}/0002.dcm",
        f"{PHANTOM_FOLDER}/0003.dcm",
    ]


def test_unusable_bundled_files_are_skipped_with_a_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken.dcm").write_bytes(b"not dicom at all")
    headerless = Dataset()
    headerless.SOPClassUID, headerless.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.7", "1.2.3"
    samples.attach_file_meta(headerless, ExplicitVRLittleEndian).save_as(
        tmp_path / "nopixels.dcm", enforce_file_format=True
    )
    study = BUNDLED_FILES[0].study
    monkeypatch.setattr(samples, "bundled_test_files_dir", lambda: tmp_path)
    monkeypatch.setattr(
        samples,
        "BUNDLED_FILES",
        (
            samples.SampleFile("broken.dcm", study, 7, "BROKEN", "broken"),
            samples.SampleFile("nopixels.dcm", study, 8, "NO PIXELS", "nopixels"),
            samples.SampleFile("absent.dcm", study, 9, "ABSENT", "absent"),
        ),
    )
    skipped = sample_summary(n_ct_slices=2)["skipped"]
    assert set(skipped) == {"broken.dcm", "nopixels.dcm", "absent.dcm"}
    assert "no PixelData" in skipped["nopixels.dcm"]
    assert [name for name, _ in sample_datasets(n_ct_slices=2)] == [
        f"{PHANTOM_FOLDER}/0001.dcm",
        f"{PHANTOM_FOLDER}/0002.dcm",
    ]


def test_large_series_yields_the_requested_count_in_one_series() -> None:
    instances = list(large_series(40, size=32, seed=3))
    assert len(instances) == 40
    assert len({ds.SeriesInstanceUID for ds in instances}) == 1
    assert len({ds.SOPInstanceUID for ds in instances}) == 40
    assert [int(ds.InstanceNumber) for ds in instances] == list(range(1, 41))
    assert instances[0].Rows == instances[0].Columns == 32
    assert instances[0].PatientID not in {p.patient_id for p in PATIENTS}
    assert instances[0].pixel_array.dtype == np.int16


def test_large_series_uids_are_deterministic_per_seed() -> None:
    again = next(large_series(5, seed=3))
    assert again.SeriesInstanceUID == next(large_series(1000, seed=3)).SeriesInstanceUID
    assert again.SOPInstanceUID == next(large_series(5, seed=3)).SOPInstanceUID
    assert again.SeriesInstanceUID != next(large_series(5, seed=4)).SeriesInstanceUID
