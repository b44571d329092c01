"""Ingest fidelity: every frame of every sample file comes back through GetImageFrame bit for bit, as documented."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from pydicom.dataset import Dataset

from healthimaging_mcp.imaging.codecs import decode_frame
from healthimaging_mcp.imaging.dataset_pixels import frame_layout, iter_frames, number_of_frames
from healthimaging_mcp.imaging.syntaxes import stored_syntax_for
from healthimaging_mcp.local.samples.collection import sample_datasets
from tests.support.local_kit import Store
from tests.support.local_testdata import SeriesSpec, encapsulated_instance

BINARY_SEGMENTATION = "1.2.840.10008.5.1.4.1.1.66.4"
MPEG2_MAIN_PROFILE = "1.2.840.10008.1.2.4.100"


@pytest.fixture(scope="module")
def sources() -> list[Dataset]:
    return [ds for _, ds in sample_datasets()]


def _instances(documents: dict[str, dict[str, Any]]) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(image set id, SOP instance UID, instance object, series object) over every sample image set."""
    for image_set_id, document in documents.items():
        for series in document["Study"]["Series"].values():
            for sop_uid, instance in series["Instances"].items():
                yield image_set_id, sop_uid, instance, series


def _expected_syntax(ds: Dataset) -> str:
    binary = ds.SOPClassUID == BINARY_SEGMENTATION and ds.get("SegmentationType") == "BINARY"
    stored = stored_syntax_for(str(ds.file_meta.TransferSyntaxUID), "HTJ2K", binary_segmentation=binary)
    assert stored is not None
    return stored


def test_every_sample_frame_round_trips_bit_for_bit(
    sources: list[Dataset], sample_client: Any, sample_datastore_id: str, sample_documents: dict[str, dict[str, Any]]
) -> None:
    located = {sop: (image_set_id, instance) for image_set_id, sop, instance, _ in _instances(sample_documents)}
    assert len(located) == len(sources) == 146
    frames_checked = 0
    for ds in sources:
        image_set_id, instance = located[ds.SOPInstanceUID]
        stored = instance["StoredTransferSyntaxUID"]
        assert stored == _expected_syntax(ds), ds.SeriesDescription
        assert instance["ChecksumType"] == "DECOMPRESSED"
        entries = instance["ImageFrames"]
        assert len(entries) == number_of_frames(ds)
        layout = frame_layout(ds)
        for entry, expected in zip(entries, iter_frames(ds), strict=True):
            response = sample_client.get_image_frame(
                datastoreId=sample_datastore_id,
                imageSetId=image_set_id,
                imageFrameInformation={"imageFrameId": entry["ID"]},
            )
            data = response["imageFrameBlob"].read()
            assert len(data) == entry["FrameSizeInBytes"]
            pixels = decode_frame(data, stored, layout)
            assert pixels.dtype == expected.dtype and pixels.shape == expected.shape, ds.SeriesDescription
            assert np.array_equal(pixels, expected), ds.SeriesDescription
            (checksum,) = entry["PixelDataChecksumFromBaseToFullResolution"]
            assert checksum["Checksum"] == zlib.crc32(np.ascontiguousarray(pixels).tobytes())
            assert (checksum["Width"], checksum["Height"]) == (ds.Columns, ds.Rows)
            assert entry["MinPixelValue"] == int(expected.min())
            assert entry["MaxPixelValue"] == int(expected.max())
            frames_checked += 1
    assert frames_checked == sum(number_of_frames(ds) for ds in sources)


def test_metadata_is_normalised_into_patient_study_series_and_instance_levels(
    sources: list[Dataset], sample_documents: dict[str, dict[str, Any]]
) -> None:
    by_sop = {ds.SOPInstanceUID: ds for ds in sources}
    for image_set_id, sop_uid, instance, series in _instances(sample_documents):
        ds = by_sop[sop_uid]
        document = sample_documents[image_set_id]
        assert document["Patient"]["DICOM"]["PatientID"] == ds.PatientID
        assert document["Patient"]["DICOM"]["PatientName"] == str(ds.PatientName)
        study = document["Study"]["DICOM"]
        assert (study["StudyInstanceUID"], study["AccessionNumber"]) == (ds.StudyInstanceUID, ds.AccessionNumber)
        assert "PatientID" not in study and "SOPInstanceUID" not in study
        assert series["DICOM"]["SeriesInstanceUID"] == ds.SeriesInstanceUID
        assert series["DICOM"]["Modality"] == ds.Modality
        assert document["Study"]["Series"][ds.SeriesInstanceUID] is series
        dicom = instance["DICOM"]
        assert dicom["SOPInstanceUID"] == sop_uid and dicom["SOPClassUID"] == ds.SOPClassUID
        assert dicom["TransferSyntaxUID"] == ds.file_meta.TransferSyntaxUID
        assert dicom["Rows"] == ds.Rows and dicom["Columns"] == ds.Columns
        assert "PixelData" not in dicom and "StudyInstanceUID" not in dicom and "PatientName" not in dicom
        assert isinstance(instance["DICOMVRs"], dict)
        for frame in instance["ImageFrames"]:
            assert set(frame) == {
                "ID",
                "PixelDataChecksumFromBaseToFullResolution",
                "MinPixelValue",
                "MaxPixelValue",
                "FrameSizeInBytes",
            }


def test_multi_frame_instances_get_one_frame_entry_per_frame(
    sources: list[Dataset], sample_documents: dict[str, dict[str, Any]]
) -> None:
    multi = {ds.SOPInstanceUID: int(ds.NumberOfFrames) for ds in sources if int(ds.get("NumberOfFrames") or 1) > 1}
    assert len(multi) >= 3
    for _, sop_uid, instance, _ in _instances(sample_documents):
        if sop_uid in multi:
            ids = [frame["ID"] for frame in instance["ImageFrames"]]
            assert len(ids) == multi[sop_uid] == len(set(ids))


def test_video_is_kept_as_its_original_stream(store: Store) -> None:
    fragments = [b"\x00\x00\x01\xb3 first half of an MPEG-2 stream ", b"and the second half\x00"]
    ds = encapsulated_instance(SeriesSpec(key="video"), 1, MPEG2_MAIN_PROFILE, fragments)
    store.load([ds])
    (summary,) = store.search()
    instance = store.metadata(summary["imageSetId"])["Study"]["Series"][ds.SeriesInstanceUID]["Instances"]
    entry = instance[ds.SOPInstanceUID]
    assert entry["StoredTransferSyntaxUID"] == MPEG2_MAIN_PROFILE
    (frame,) = entry["ImageFrames"]
    response = store.frame(summary["imageSetId"], frame["ID"])
    assert response["contentType"] == "video/mpeg"
    assert response["imageFrameBlob"].read() == b"".join(fragments)
    assert frame["FrameSizeInBytes"] == len(b"".join(fragments))
