"""Pixel data is checked before an instance is committed: a whole file with unusable pixels fails alone, with a
reason, and the instance already stored stays exactly as it was."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import imagecodecs
import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import BasicTextSRStorage, JPEGLSLossless

from healthimaging_mcp.imaging.codecs import EncodedFrame, encode_for_storage
from healthimaging_mcp.local.imports import ingest
from tests.support.dicom_files import part10
from tests.support.local_kit import SPEC, Store, frame_ids, only
from tests.support.local_testdata import ct_instance, encapsulated_instance


def jpegls(ds: Dataset, size: int | None = None) -> bytes:
    """A valid JPEG-LS codestream of the instance's pixels (or of a size × size crop of them)."""
    pixels = np.frombuffer(ds.PixelData, dtype=np.int16).reshape(int(ds.Rows), int(ds.Columns))
    if size is not None:
        pixels = np.ascontiguousarray(pixels[:size, :size])
    return bytes(imagecodecs.jpegls_encode(pixels.view(np.uint16)))


def without_pixel_data(ds: Dataset) -> Dataset:
    del ds.PixelData
    return ds


def with_attribute(keyword: str, value: Any) -> Callable[[Dataset], Dataset]:
    def change(ds: Dataset) -> Dataset:
        setattr(ds, keyword, value)
        return ds

    return change


def encapsulated(*frames: Callable[[Dataset], bytes]) -> Callable[[Dataset], Dataset]:
    def build(ds: Dataset) -> Dataset:
        return encapsulated_instance(SPEC, 1, JPEGLSLossless, [frame(ds) for frame in frames])

    return build


def one_fragment_for_two_frames(ds: Dataset) -> Dataset:
    damaged = encapsulated_instance(SPEC, 1, JPEGLSLossless, [jpegls(ds)])
    damaged.NumberOfFrames = 2
    return damaged


def garbage(ds: Dataset) -> bytes:
    return b"\xff\xd8 not a codestream"


CASES: dict[str, tuple[Callable[[Dataset], Dataset], str]] = {
    "image without pixel data": (
        without_pixel_data,
        "CT Image Storage instances need Pixel Data (7FE0,0010); this file has none",
    ),
    "native pixel data too short for Rows": (
        with_attribute("Rows", 9),
        "Pixel Data holds 128 bytes; Rows × Columns × SamplesPerPixel × BitsAllocated × NumberOfFrames "
        "(9 × 8 × 1 × 16 bits × 1) needs 144",
    ),
    "native pixel data too short for NumberOfFrames": (
        with_attribute("NumberOfFrames", 3),
        "Pixel Data holds 128 bytes; Rows × Columns × SamplesPerPixel × BitsAllocated × NumberOfFrames "
        "(8 × 8 × 1 × 16 bits × 3) needs 384",
    ),
    "encapsulated frame that does not decode": (
        encapsulated(garbage),
        "Frame 1 of 1 of the Pixel Data cannot be decoded as JPEG-LS Lossless Image Compression; the file is damaged",
    ),
    "second encapsulated frame that does not decode": (
        encapsulated(jpegls, garbage),
        "Frame 2 of 2 of the Pixel Data cannot be decoded as JPEG-LS Lossless Image Compression; the file is damaged",
    ),
    "encapsulated frame of the wrong size": (
        encapsulated(lambda ds: jpegls(ds, size=4)),
        "Frame 1 of 1 decodes to 4 × 4 pixels; Columns × Rows say 8 × 8",
    ),
    "fewer encapsulated frames than NumberOfFrames": (
        one_fragment_for_two_frames,
        "The encapsulated Pixel Data (JPEG-LS Lossless Image Compression) does not hold the 2 frame(s) "
        "NumberOfFrames declares, or its fragments are damaged",
    ),
}


def stored_state(store: Store, image_set_id: str) -> tuple[str, dict[str, Any], dict[str, bytes]]:
    document = store.metadata(image_set_id)
    frames = {
        frame_id: store.frame(image_set_id, frame_id)["imageFrameBlob"].read() for frame_id in frame_ids(document)
    }
    return store.image_set(image_set_id)["versionId"], document, frames


@pytest.mark.parametrize("case", CASES)
def test_a_file_with_unusable_pixel_data_fails_alone_and_leaves_the_stored_instance_as_it_was(
    store: Store, case: str
) -> None:
    damage, reason = CASES[case]
    store.load([ct_instance(SPEC, 1), ct_instance(SPEC, 2)])
    image_set_id = only(store)
    before = stored_state(store, image_set_id)

    report = store.load([damage(ct_instance(SPEC, 1)), ct_instance(SPEC, 3)], prefix="again")
    (failure,) = report.failures
    assert failure["inputFile"] == f"again/{SPEC.sop_uid(1)}.dcm"
    assert failure["exception"] == {"exceptionType": "ValidationException", "message": reason}
    assert [line["inputFile"] for line in report.successes] == [f"again/{SPEC.sop_uid(3)}.dcm"]

    version, document, frames = stored_state(store, image_set_id)
    assert version == "2"  # the good file of the same batch was added
    instances = document["Study"]["Series"][SPEC.series_uid]["Instances"]
    old_instances = before[1]["Study"]["Series"][SPEC.series_uid]["Instances"]
    assert instances[SPEC.sop_uid(1)] == old_instances[SPEC.sop_uid(1)]
    assert {frame_id: frames[frame_id] for frame_id in before[2]} == before[2]


def test_a_transcoded_frame_that_does_not_decode_back_fails_the_file_as_a_server_error(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.load([ct_instance(SPEC, 1)])
    image_set_id = only(store)
    before = stored_state(store, image_set_id)

    def lossy(pixels: np.ndarray, layout: Any, storage_format: str = "HTJ2K") -> EncodedFrame:
        return encode_for_storage(pixels // 2, layout, storage_format)  # a codec that silently loses a bit

    monkeypatch.setattr(ingest, "encode_for_storage", lossy)
    (failure,) = store.load([ct_instance(SPEC, 1)]).failures
    assert failure["exception"] == {
        "exceptionType": "InternalServerException",
        "message": "Frame 1 of 1 did not decode back to the file's pixels after transcoding to High-Throughput "
        "JPEG 2000 with RPCL Options Image Compression (Lossless Only); the file was not imported",
    }
    assert stored_state(store, image_set_id) == before


def test_an_instance_without_pixel_data_imports_when_its_sop_class_has_none(store: Store) -> None:
    report = without_pixel_data(ct_instance(SPEC, 1))
    report.SOPClassUID = BasicTextSRStorage
    assert store.load([report]).failures == []
    instance = store.metadata(only(store))["Study"]["Series"][SPEC.series_uid]["Instances"][SPEC.sop_uid(1)]
    assert "ImageFrames" not in instance


def test_trailing_nul_padding_is_accepted_and_trailing_bytes_that_are_no_element_are_not(store: Store) -> None:
    data = part10(ct_instance(SPEC, 1))
    files = [("padded.dcm", lambda: data + b"\0\0\0"), ("trailing.dcm", lambda: data + b"junk")]
    report = store.service.backend.import_files(store.datastore_id, files)
    assert [line["inputFile"] for line in report.successes] == ["padded.dcm"]
    (failure,) = report.failures
    assert failure["exception"]["message"] == (
        "The file is cut short or damaged: the 4 bytes after Pixel Data (7FE0,0010) are not a whole DICOM data element"
    )
