"""WADO-RS on the local service: metadata, Part 10 instances (pixel-exact), frames with transfer-syntax
negotiation and bulk data, through `dicomweb-client`, plus raw HTTP for 406 and the other refusals."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from dicomweb_client import DICOMwebClient
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.encaps import generate_fragments
from pydicom.uid import UID, generate_uid

from healthimaging_mcp.imaging.codecs import decode_frame
from healthimaging_mcp.local.dicomweb.multipart import decode as decode_multipart
from healthimaging_mcp.local.service import LocalService
from tests.support.dicomweb import dicomweb_client, dicomweb_get, first, json_body, values
from tests.support.local_kit import Store, updates
from tests.support.local_testdata import SeriesSpec, ct_instance, encapsulated_instance, series, synthetic_uid
from tests.support.raw_http import RawResponse

ELE = "1.2.840.10008.1.2.1"
HTJ2K_RPCL = "1.2.840.10008.1.2.4.202"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
MPEG2 = "1.2.840.10008.1.2.4.100"
BASIC_TEXT_SR = UID("1.2.840.10008.5.1.4.1.1.88.11")

CT = SeriesSpec(key="wado-ct")
CONFLICT = SeriesSpec(key="wado-ct", patient_id="PAT-OTHER")  # same series, another patient: non-primary
BULK_VALUE = bytes(range(256)) * (2 * 1024 * 1024 // 256)  # 2 MiB: over the 1 MiB inline limit
NESTED_BULK_VALUE = bytes(range(255, -1, -1)) * (1024 * 1024 // 256) + b"!!"  # 1 MiB + 2 bytes, in a sequence item
MEDIUM_VALUE = bytes(range(256)) * 400  # 100 KiB: inline, as HealthImaging answers it
SMALL_VALUE = b"SMALLVAL"


def with_private_values(ds: Dataset) -> Dataset:
    block = ds.private_block(0x0019, "HIMCP TEST", create=True)
    block.add_new(0x10, "OB", BULK_VALUE)
    block.add_new(0x11, "OB", SMALL_VALUE)
    block.add_new(0x12, "OB", MEDIUM_VALUE)
    item = Dataset()
    item.private_block(0x0029, "HIMCP TEST", create=True).add_new(0x01, "OB", NESTED_BULK_VALUE)
    block.add_new(0x13, "SQ", [Dataset(), item])
    return ds


def fresh_identity(ds: Dataset, key: str) -> Dataset:
    """A bundled test file moved into a study and series of its own (they share UIDs otherwise)."""
    ds.StudyInstanceUID, ds.SeriesInstanceUID = synthetic_uid("wado-study", key), synthetic_uid("wado-series", key)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = synthetic_uid("wado-sop", key)
    ds.PatientID = f"PAT-{key}"
    return ds


def bundled(name: str) -> Dataset:
    return fresh_identity(pydicom.dcmread(str(get_testdata_file(name))), name)


def text_report() -> Dataset:
    ds = ct_instance(SeriesSpec(key="wado-sr", modality="SR"), 1)
    for keyword in ("PixelData", "Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation"):
        delattr(ds, keyword)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = BASIC_TEXT_SR
    return ds


def video() -> Dataset:
    ds = encapsulated_instance(SeriesSpec(key="wado-video", modality="XC"), 1, MPEG2, [b"\x00\x00\x01\xb3MPEG2-STREAM"])
    return ds


BUNDLED = (
    "SC_rgb_rle_2frame.dcm",
    "SC_ybr_full_422_uncompressed.dcm",
    "MR_small_bigendian.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
)


@dataclass(frozen=True)
class Wado:
    service: LocalService
    datastore_id: str
    originals: dict[str, Dataset]  # by SOP Instance UID
    non_primary: str  # the image set of CONFLICT


@pytest.fixture(scope="module")
def wado(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wado]:
    originals = {
        "ct": [with_private_values(ds) for ds in series(CT, 2, frames=3)],
        "bundled": [bundled(name) for name in BUNDLED],
        "others": [text_report(), video()],
    }
    with LocalService(tmp_path_factory.mktemp("wado")) as service:
        store = Store(service)
        for group in originals.values():
            report = store.load(group)
            assert not report.failures, report.failures
        (non_primary,) = store.load(series(CONFLICT, 1, start=9)).image_sets
        by_sop = {str(ds.SOPInstanceUID): ds for group in originals.values() for ds in group}
        yield Wado(service, store.datastore_id, by_sop, non_primary.image_set_id)


@pytest.fixture(scope="module")
def client(wado: Wado) -> DICOMwebClient:
    return dicomweb_client(wado.service, wado.datastore_id)


def path_of(ds: Dataset, suffix: str = "") -> str:
    return f"studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}{suffix}"


def get(wado: Wado, path: str, **kwargs: Any) -> RawResponse:
    return dicomweb_get(wado.service, wado.datastore_id, path, kwargs.pop("params", None), **kwargs)


def assert_same_attributes(returned: Dataset, original: Dataset) -> None:
    """Every attribute of the original (but Pixel Data) comes back with the same value."""
    for element in original:
        if element.tag == 0x7FE00010:
            continue
        assert element.tag in returned, element
        assert returned[element.tag].value == element.value, element


# ---------------------------------------------------------------- metadata


def test_series_metadata_has_every_instance_with_all_levels(client: DICOMwebClient) -> None:
    metadata = client.retrieve_series_metadata(CT.study_uid, CT.series_uid)
    assert [first(m, "00080018") for m in metadata] == [CT.sop_uid(1), CT.sop_uid(2)]
    instance = metadata[0]
    assert instance["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "TEST^PATIENT"}]}  # patient level
    assert first(instance, "0020000D") == CT.study_uid and first(instance, "00080060") == "CT"
    assert first(instance, "00281052") == -1024 and values(instance, "00200032") == [0, 0, 1]
    assert first(instance, "00280008") == 3  # NumberOfFrames, IS as a number
    assert not any(tag.startswith("0002") for tag in instance)  # file meta is no part of the instance


def test_large_binary_values_are_bulk_data_uris_that_retrieve_the_bytes(client: DICOMwebClient, wado: Wado) -> None:
    metadata = client.retrieve_instance_metadata(CT.study_uid, CT.series_uid, CT.sop_uid(2))
    assert metadata["00190010"] == {"vr": "LO", "Value": ["HIMCP TEST"]}
    assert metadata["00191011"] == {"vr": "OB", "InlineBinary": "U01BTExWQUw="}
    assert metadata["00191012"] == {"vr": "OB", "InlineBinary": base64.b64encode(MEDIUM_VALUE).decode()}
    uri = metadata["00191010"]["BulkDataURI"]
    assert "InlineBinary" not in metadata["00191010"]
    assert uri.endswith(path_of(wado.originals[CT.sop_uid(2)], "/bulkdata/00191010"))
    assert client.retrieve_bulkdata(uri) == [BULK_VALUE]
    single = get(wado, path_of(wado.originals[CT.sop_uid(2)], "/bulkdata/00191010"), headers={"Accept": "*/*"})
    assert single.headers["content-type"] == "application/octet-stream" and single.body == BULK_VALUE
    missing = get(wado, path_of(wado.originals[CT.sop_uid(2)], "/bulkdata/00191099"))
    assert missing.status == 404


def test_large_values_in_sequence_items_are_bulk_data_too(client: DICOMwebClient, wado: Wado) -> None:
    (metadata,) = client.retrieve_series_metadata(CT.study_uid, CT.series_uid)[:1]
    items = metadata["00191013"]["Value"]
    assert items[0] == {}
    uri = items[1]["00291001"]["BulkDataURI"]
    assert uri.endswith(path_of(wado.originals[CT.sop_uid(1)], "/bulkdata/00191013/2/00291001"))
    assert client.retrieve_bulkdata(uri) == [NESTED_BULK_VALUE]


def test_metadata_is_dicom_json_only(wado: Wado) -> None:
    response = get(
        wado, path_of(wado.originals[CT.sop_uid(1)], "/metadata"), headers={"Accept": "application/dicom+xml"}
    )
    assert response.status == 406
    response = get(wado, path_of(wado.originals[CT.sop_uid(1)], "/metadata"))
    assert response.status == 200 and len(json_body(response)) == 1


# ---------------------------------------------------------------- instances


@pytest.mark.parametrize("number", [1, 2])
def test_an_instance_in_its_stored_syntax_is_the_original_pixel_for_pixel(
    client: DICOMwebClient, wado: Wado, number: int
) -> None:
    original = wado.originals[CT.sop_uid(number)]
    returned = client.retrieve_instance(CT.study_uid, CT.series_uid, CT.sop_uid(number))  # transfer-syntax=*
    assert returned.file_meta.TransferSyntaxUID == HTJ2K_RPCL
    assert np.array_equal(returned.pixel_array, original.pixel_array)
    assert_same_attributes(returned, original)


def test_an_instance_decoded_to_explicit_vr_little_endian(client: DICOMwebClient, wado: Wado) -> None:
    original = wado.originals[CT.sop_uid(1)]
    returned = client.retrieve_instance(
        CT.study_uid, CT.series_uid, CT.sop_uid(1), media_types=(("application/dicom", ELE),)
    )
    assert returned.file_meta.TransferSyntaxUID == ELE
    assert returned.PixelData == original.PixelData
    assert_same_attributes(returned, original)


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_files_come_back_pixel_exact_in_explicit_vr_little_endian(wado: Wado, name: str) -> None:
    original = next(ds for ds in wado.originals.values() if ds.PatientID == f"PAT-{name}")
    response = get(wado, path_of(original))  # no Accept: one application/dicom body, decoded
    assert response.status == 200
    assert response.headers["content-type"] == f"application/dicom; transfer-syntax={ELE}"
    returned = pydicom.dcmread(io.BytesIO(response.body))
    assert returned.file_meta.TransferSyntaxUID == ELE
    assert np.array_equal(returned.pixel_array, original.pixel_array)
    if original.SamplesPerPixel == 3:
        assert returned.PhotometricInterpretation == "RGB"


def test_frames_kept_in_their_original_encoding_come_back_byte_for_byte(
    wado: Wado,
) -> None:
    original = next(ds for ds in wado.originals.values() if ds.PatientID == "PAT-SC_rgb_jpeg_dcmtk.dcm")
    accept = f'multipart/related; type="application/dicom"; transfer-syntax={JPEG_BASELINE}'
    response = get(wado, path_of(original), headers={"Accept": accept})
    (part,) = decode_multipart(response.headers["content-type"], response.body)
    returned = pydicom.dcmread(io.BytesIO(part.body))
    assert returned.file_meta.TransferSyntaxUID == JPEG_BASELINE
    assert list(generate_fragments(returned.PixelData))[1:] == list(generate_fragments(original.PixelData))[1:]


def test_a_syntax_that_cannot_be_produced_is_406(wado: Wado) -> None:
    ct = wado.originals[CT.sop_uid(1)]
    response = get(wado, path_of(ct), headers={"Accept": f"application/dicom; transfer-syntax={JPEG_BASELINE}"})
    assert response.status == 406
    assert HTJ2K_RPCL in response.json()["message"] and ELE in response.json()["message"]
    response = get(wado, path_of(ct), headers={"Accept": "application/pdf"})
    assert response.status == 406


def test_stored_video_is_only_available_as_stored(wado: Wado) -> None:
    original = next(ds for ds in wado.originals.values() if ds.Modality == "XC")
    refused = get(wado, path_of(original))
    assert refused.status == 406 and "transfer-syntax=" in refused.json()["message"]
    response = get(wado, path_of(original), headers={"Accept": "application/dicom; transfer-syntax=*"})
    returned = pydicom.dcmread(io.BytesIO(response.body))
    assert returned.file_meta.TransferSyntaxUID == MPEG2
    assert b"".join(list(generate_fragments(returned.PixelData))[1:]) == b"\x00\x00\x01\xb3MPEG2-STREAM"


def test_an_instance_without_pixel_data(wado: Wado) -> None:
    original = next(ds for ds in wado.originals.values() if ds.SOPClassUID == BASIC_TEXT_SR)
    returned = pydicom.dcmread(io.BytesIO(get(wado, path_of(original)).body))
    assert "PixelData" not in returned and returned.SOPClassUID == BASIC_TEXT_SR
    assert_same_attributes(returned, original)
    assert get(wado, path_of(original, "/frames/1")).status == 404
    accept = {"Accept": f"application/dicom; transfer-syntax={HTJ2K_RPCL}"}
    assert get(wado, path_of(original), headers=accept).status == 406


# ---------------------------------------------------------------- frames


def test_frames_default_to_decoded_samples_in_the_order_asked(client: DICOMwebClient, wado: Wado) -> None:
    original = wado.originals[CT.sop_uid(1)]
    frames = client.retrieve_instance_frames(CT.study_uid, CT.series_uid, CT.sop_uid(1), [3, 1])
    decoded = [np.frombuffer(frame, dtype="<i2").reshape(8, 8) for frame in frames]
    assert np.array_equal(decoded[0], original.pixel_array[2]) and np.array_equal(decoded[1], original.pixel_array[0])


def test_frames_as_stored_with_transfer_syntax_any(client: DICOMwebClient, wado: Wado) -> None:
    original = wado.originals[CT.sop_uid(2)]
    (frame,) = client.retrieve_instance_frames(
        CT.study_uid, CT.series_uid, CT.sop_uid(2), [2], media_types=(("*/*", "*"),)
    )
    assert bytes(frame[:4]) == b"\xff\x4f\xff\x51"  # a JPEG 2000 codestream (SOC, SIZ)
    assert np.array_equal(decode_frame(bytes(frame), HTJ2K_RPCL), original.pixel_array[1])


def test_frame_media_types_name_their_transfer_syntax(wado: Wado) -> None:
    ct = wado.originals[CT.sop_uid(1)]
    response = get(wado, path_of(ct, "/frames/1,2"), headers={"Accept": 'multipart/related; type="image/jphc"'})
    assert response.headers["content-type"].startswith('multipart/related; type="image/jphc"; boundary=')
    parts = decode_multipart(response.headers["content-type"], response.body)
    assert [p.content_type for p in parts] == [f"image/jphc; transfer-syntax={HTJ2K_RPCL}"] * 2
    octets = get(
        wado, path_of(ct, "/frames/2"), headers={"Accept": 'multipart/related; type="application/octet-stream"'}
    )
    (part,) = decode_multipart(octets.headers["content-type"], octets.body)
    assert part.content_type == f"application/octet-stream; transfer-syntax={ELE}" and len(part.body) == 128
    refused = get(wado, path_of(ct, "/frames/1"), headers={"Accept": 'multipart/related; type="image/jpeg"'})
    assert refused.status == 406


@pytest.mark.parametrize(("frames", "status"), [("0", 400), ("1,1", 400), ("one", 400), ("4", 404), ("1,9", 404)])
def test_bad_frame_lists(wado: Wado, frames: str, status: int) -> None:
    response = get(wado, path_of(wado.originals[CT.sop_uid(1)], f"/frames/{frames}"))
    assert response.status == status, response.body
    assert response.json()["message"]


# ---------------------------------------------------------------- which image set


def test_non_primary_image_sets_are_read_with_image_set_id(client: DICOMwebClient, wado: Wado) -> None:
    non_primary = wado.non_primary
    hidden = path_of(series(CONFLICT, 1, start=9)[0])
    assert get(wado, hidden).status == 404
    params = {"imageSetId": non_primary}
    metadata = client.retrieve_series_metadata(CT.study_uid, CT.series_uid, additional_params=params)
    assert [first(m, "00080018") for m in metadata] == [CONFLICT.sop_uid(9)]
    assert first(metadata[0], "00100020") == "PAT-OTHER"
    returned = client.retrieve_instance(CT.study_uid, CT.series_uid, CONFLICT.sop_uid(9), additional_params=params)
    assert returned.PatientID == "PAT-OTHER"
    assert get(wado, path_of(wado.originals[CT.sop_uid(1)]), params=params).status == 404  # not in that image set
    other_series = next(ds for ds in wado.originals.values() if ds.Modality == "XC")
    response = get(wado, path_of(other_series, "/metadata"), params=params)
    assert response.status == 404 and non_primary in response.json()["message"]


def test_retrieve_refuses_unknown_parameters_and_image_sets(wado: Wado) -> None:
    ct = wado.originals[CT.sop_uid(1)]
    response = get(wado, path_of(ct, "/metadata"), params={"includefield": "all"})
    assert response.status == 400 and "imageSetId" in response.json()["message"]
    assert get(wado, path_of(ct), params={"imageSetId": "f" * 32}).status == 404
    assert get(wado, f"studies/{CT.study_uid}/series/{generate_uid()}/metadata").status == 404
    response = get(wado, f"studies/{CT.study_uid}/series/{CT.series_uid}/instances/{generate_uid()}")
    assert response.status == 404 and "has no instance" in response.json()["message"]


def test_a_series_changed_by_an_update_is_read_at_its_latest_version(tmp_path: Path) -> None:
    with LocalService(tmp_path) as service:
        store = Store(service)
        store.load(series(CT, 1))
        client = dicomweb_client(service, store.datastore_id)
        (image_set_id,) = [s["imageSetId"] for s in store.search()]
        store.update(
            image_set_id,
            "1",
            updateImageSetMetadataUpdates=updates({"Patient": {"DICOM": {"PatientName": "NEW^NAME"}}}),
        )
        returned = client.retrieve_instance(CT.study_uid, CT.series_uid, CT.sop_uid(1))
        assert returned.PatientName == "NEW^NAME"
