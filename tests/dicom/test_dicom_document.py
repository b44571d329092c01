from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from healthimaging_mcp.dicom.document import (
    DEFAULT_STORED_TRANSFER_SYNTAX_UID,
    ImageSetDocument,
    InstanceView,
)
from healthimaging_mcp.dicom.values import as_float, as_floats, as_int, as_text

CT = "2.25.200"
MR = "2.25.300"


@pytest.fixture
def view(document: dict[str, Any]) -> ImageSetDocument:
    return ImageSetDocument.from_json(document)


def test_top_level_properties(view: ImageSetDocument) -> None:
    assert view.schema_version == "1.1"
    assert view.image_set_id == "1" * 32
    assert view.datastore_id == "0" * 32
    assert view.patient["PatientName"] == "DOE^JANE"
    assert view.study["StudyID"] == "S1"
    assert (view.instance_count, view.frame_count) == (6, 8)


def test_series_are_ordered_by_series_number(view: ImageSetDocument) -> None:
    assert [series.uid for series in view.series] == [CT, MR]
    ct = view.series[0]
    assert (ct.modality, ct.description, ct.number) == ("CT", "AXIAL", 3)


def test_instances_sort_by_number_then_slice_position_then_uid(view: ImageSetDocument) -> None:
    ct = view.series[0]
    assert [i.sop_uid for i in ct.instances] == ["2.25.201", "2.25.221", "2.25.222", "2.25.203", "2.25.299"]
    assert [i.instance_number for i in ct.instances] == [1, 2, 2, 3, None]
    assert ct.instances[1].slice_position() == pytest.approx(-5.0)


def test_slice_position_follows_the_orientation_normal(view: ImageSetDocument) -> None:
    sagittal = {
        "DICOM": {
            "ImagePositionPatient": ["12.5", "-3", "7"],
            "ImageOrientationPatient": ["0", "1", "0", "0", "0", "-1"],  # normal = (-1, 0, 0)
        }
    }
    assert InstanceView.from_json("x", "y", sagittal).slice_position() == pytest.approx(-12.5)
    assert InstanceView.from_json("x", "y", {"DICOM": {}}).slice_position() is None


def test_frames_read_ids_ranges_sizes_and_full_resolution_checksum(view: ImageSetDocument) -> None:
    mr_instance = view.series[1].instances[0]
    assert [f.index for f in mr_instance.frames] == [0, 1, 2]
    first = mr_instance.frames[0]
    assert first.id == "e" * 31 + "1"
    assert first.checksum == 1064  # the Width 64 entry, although it is listed first
    assert (first.min_pixel_value, first.max_pixel_value, first.size_in_bytes) == (0, 4095, 1234)
    assert mr_instance.vrs == {"00091001": "LO"}
    assert mr_instance.attributes["00091001"] == "VENDOR"


def test_missing_or_null_stored_transfer_syntax_means_htj2k_lossless(view: ImageSetDocument) -> None:
    null, absent = view.instance("2.25.299"), view.instance("2.25.301")
    assert null is not None and absent is not None
    assert null.stored_transfer_syntax_uid == DEFAULT_STORED_TRANSFER_SYNTAX_UID
    assert absent.stored_transfer_syntax_uid == DEFAULT_STORED_TRANSFER_SYNTAX_UID


def test_lookups_by_frame_id_sop_uid_and_number(view: ImageSetDocument) -> None:
    found = view.find_frame("e" * 31 + "2")
    assert found is not None
    series, instance, frame = found
    assert (series.uid, instance.sop_uid, frame.index) == (MR, "2.25.301", 1)
    assert view.find_frame("0" * 32) is None
    third, ct = view.instance("2.25.203"), view.series_by_uid(CT)
    assert third is not None and ct is not None
    assert third.instance_number == 3
    assert view.instance("nope") is None
    assert [i.sop_uid for i in ct.instances_by_number(2)] == ["2.25.221", "2.25.222"]
    assert ct.instances_by_number(42) == []


def test_frame_at_walks_frames_in_display_order(view: ImageSetDocument) -> None:
    ct, mr = view.series
    assert ct.frame_count == 5 and mr.frame_count == 3
    instance, frame = ct.frame_at(1)
    assert instance.sop_uid == "2.25.221" and frame.id == "f" * 31 + "a"
    assert mr.frame_at(2)[1].id == "e" * 31 + "3"
    with pytest.raises(IndexError, match="has 3 frames"):
        mr.frame_at(3)
    with pytest.raises(IndexError):
        mr.frame_at(-1)


def test_from_bytes_reads_gzip_and_plain_json(document: dict[str, Any]) -> None:
    raw = json.dumps(document).encode()
    assert ImageSetDocument.from_bytes(gzip.compress(raw)).instance_count == 6
    assert ImageSetDocument.from_bytes(raw).image_set_id == "1" * 32
    with pytest.raises(ValueError, match="not an image set metadata document"):
        ImageSetDocument.from_bytes(b"[1, 2]")


def test_empty_document_has_no_series() -> None:
    view = ImageSetDocument.from_json({"SchemaVersion": 1.1})
    assert view.series == [] and view.instance_count == 0 and view.schema_version == "1.1"


def test_large_image_sets_are_indexed_quickly(make_instance: Callable[..., dict[str, Any]]) -> None:
    instances = {f"2.25.{n}": make_instance(f"2.25.{n}", str(1000 - n), float(n), [f"{n:032x}"]) for n in range(1500)}
    doc = {"Study": {"DICOM": {}, "Series": {"2.25.9": {"DICOM": {}, "Instances": instances}}}}
    started = time.perf_counter()
    view = ImageSetDocument.from_json(doc)
    located = view.find_frame(f"{700:032x}")
    elapsed = time.perf_counter() - started
    assert located is not None and located[1].sop_uid == "2.25.700"
    assert view.series[0].frame_at(0)[0].sop_uid == "2.25.1499"  # InstanceNumber 1 ⇒ ascending numbers
    assert elapsed < 1.0


def test_value_helpers_read_numbers_and_padded_strings() -> None:
    assert as_int("3 ") == 3 and as_int(7) == 7 and as_int(["12"]) == 12 and as_int("4.0") == 4
    assert as_int("x") is None and as_int(None) is None and as_int(True) is None and as_int("2.5") is None
    assert as_float("-1024 ") == -1024.0 and as_float(2) == 2.0 and as_float("nan") is None
    assert as_floats(["1", "0 ", 2]) == [1.0, 0.0, 2.0]
    assert as_floats("1\\2\\3") == [1.0, 2.0, 3.0]
    assert as_floats(["1", "x"]) is None and as_floats(None) is None
    assert as_text("S1 ") == "S1" and as_text("") is None and as_text(None) is None and as_text(["A"]) == "A"
