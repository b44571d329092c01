"""Whatever way a frame is addressed, the same frame comes back with its own window, rescale, spacing and caption;
an address that matches several instances is refused with the candidates, never silently resolved."""

from __future__ import annotations

import base64
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult
from pydicom.dataset import Dataset

from healthimaging_mcp.dicom.document import ImageSetDocument
from healthimaging_mcp.local.service import LocalService
from healthimaging_mcp.tools.frame_pipeline import slice_target
from healthimaging_mcp.tools.frames import tile_labels
from tests.support.dicom_files import part10
from tests.support.enhanced_testdata import ENHANCED_FRAMES, enhanced_mr, frame_pixels, shared_number_series
from tests.support.local_kit import read_metadata
from tests.support.mcp_testkit import call, error_of, images_of, ok

pytestmark = pytest.mark.anyio


def _import(service: LocalService, datasets: list[Dataset]) -> tuple[str, str]:
    client = service.client()
    datastore_id = client.create_datastore(datastoreName="frames")["datastoreId"]
    files = [(f"f{i}.dcm", partial(part10, ds)) for i, ds in enumerate(datasets)]
    (imported,) = service.backend.import_files(datastore_id, files).image_sets
    return datastore_id, imported.image_set_id


def _document(service: LocalService, datastore_id: str, image_set_id: str) -> dict[str, Any]:
    return read_metadata(service.client(), datastore_id, image_set_id)


def _frame_ids(service: LocalService, datastore_id: str, image_set_id: str) -> dict[str, list[str]]:
    (series,) = _document(service, datastore_id, image_set_id)["Study"]["Series"].values()
    return {sop: [f["ID"] for f in i["ImageFrames"]] for sop, i in series["Instances"].items()}


def _shared_numbers(service: LocalService) -> tuple[list[Dataset], dict[str, list[str]], dict[str, Any]]:
    """The series whose instances share numbers and tie in position, imported: its datasets, frame IDs by SOP
    instance UID, and the arguments that address its image set (no picture)."""
    datasets = shared_number_series()
    datastore_id, image_set_id = _import(service, datasets)
    base = {"image_set_id": image_set_id, "datastore_id": datastore_id, "include_image": False}
    return datasets, _frame_ids(service, datastore_id, image_set_id), base


def _picture(result: CallToolResult) -> bytes:
    (image,) = images_of(result)
    return base64.b64decode(image.data)


async def test_every_frame_of_an_enhanced_mr_looks_the_same_however_it_is_addressed(
    fresh_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    ds = enhanced_mr()
    datastore_id, image_set_id = _import(fresh_service, [ds])
    (frame_ids,) = _frame_ids(fresh_service, datastore_id, image_set_id).values()
    base = {"image_set_id": image_set_id, "datastore_id": datastore_id, "max_size": 256}
    async with Client(server_for(fresh_service)) as client:
        for facts in ENHANCED_FRAMES:
            ways: list[dict[str, Any]] = [
                {"image_frame_id": frame_ids[facts.index]},
                {"series_instance_uid": str(ds.SeriesInstanceUID), "instance_number": 1, "frame_index": facts.index},
                {"slice_index": facts.index},
            ]
            results = [await call(client, "get_image_frame", {**base, **way}) for way in ways]
            answers = [ok(r) for r in results]
            for answer in answers:
                assert answer["image_frame_id"] == frame_ids[facts.index]
                assert (answer["window_center"], answer["window_width"]) == (facts.center, facts.width), facts
                assert answer["window_source"] == "dicom"
            first = answers[0]
            # Spacing is per frame: a 40 × 60 frame with (row, column) spacing (1, 2) is twice as wide as tall.
            row_mm, column_mm = facts.spacing[0] * 40, facts.spacing[1] * 60
            assert abs(first["width"] / first["height"] - column_mm / row_mm) < 0.02, facts
            for other in answers[1:]:
                assert {k: other[k] for k in ("caption", "width", "height", "slice_index")} == {
                    k: first[k] for k in ("caption", "width", "height", "slice_index")
                }
            assert _picture(results[0]) == _picture(results[1]) == _picture(results[2])


async def test_pixels_saved_in_modality_units_use_each_frames_own_rescale_however_it_is_addressed(
    fresh_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    datastore_id, image_set_id = _import(fresh_service, [enhanced_mr()])
    (frame_ids,) = _frame_ids(fresh_service, datastore_id, image_set_id).values()
    base = {"image_set_id": image_set_id, "datastore_id": datastore_id, "include_image": False, "save_kind": "modality"}
    async with Client(server_for(fresh_service)) as client:
        for facts in ENHANCED_FRAMES:
            ways: dict[str, dict[str, Any]] = {
                "id": {"image_frame_id": frame_ids[facts.index]},
                "number": {"instance_number": 1, "frame_index": facts.index},
                "slice": {"slice_index": facts.index},
            }
            expected = frame_pixels(facts.index) * facts.slope + facts.intercept
            for way, address in ways.items():
                result = await call(client, "get_image_frame", {**base, **address, "save_as": f"f{facts.index}{way}"})
                saved = np.load(ok(result)["saved_to"], allow_pickle=False)
                assert saved.dtype == np.float32
                assert np.allclose(saved, expected), (facts, way)


CONFLICTING_ADDRESSES: list[tuple[dict[str, Any], list[str]]] = [
    ({"image_frame_id": "FRAME", "frame_index": 1}, ["frame_index"]),
    ({"image_frame_id": "FRAME", "slice_index": 1}, ["image_frame_id", "slice_index"]),
    ({"image_frame_id": "FRAME", "instance_number": 1}, ["image_frame_id", "instance_number"]),
    ({"instance_number": 1, "slice_index": 2}, ["instance_number", "slice_index"]),
    ({"slice_index": 2, "frame_index": 1}, ["frame_index"]),
    ({"frame_index": 1}, ["frame_index"]),
    ({"image_frame_id": "FRAME", "series_instance_uid": "1.2.3.4"}, ["FRAME", "1.2.3.4"]),
    ({"plane": "axial", "slice_index": 1, "frame_index": 1}, ["frame_index"]),
]


@pytest.mark.parametrize(("address", "named"), CONFLICTING_ADDRESSES)
async def test_a_frame_addressed_two_ways_is_refused_not_half_ignored(
    fresh_service: LocalService, server_for: Callable[..., MCPServer], address: dict[str, Any], named: list[str]
) -> None:
    datastore_id, image_set_id = _import(fresh_service, [enhanced_mr()])
    (frame_ids,) = _frame_ids(fresh_service, datastore_id, image_set_id).values()
    frame_id = frame_ids[2]
    address = {key: frame_id if value == "FRAME" else value for key, value in address.items()}
    base = {"image_set_id": image_set_id, "datastore_id": datastore_id, "include_image": False}
    async with Client(server_for(fresh_service)) as client:
        refused = await call(client, "get_image_frame", {**base, **address})
        alone = await call(client, "get_image_frame", {**base, "image_frame_id": frame_id})
    error = error_of(refused)
    assert error["type"] == "validation_error"
    for word in named:
        assert (frame_id if word == "FRAME" else word) in error["message"], error
    assert ok(alone)["image_frame_id"] == frame_id


async def test_an_instance_number_shared_by_several_instances_is_refused_with_the_candidates(
    fresh_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    datasets, frame_ids, base = _shared_numbers(fresh_service)
    async with Client(server_for(fresh_service)) as client:
        shared = await call(client, "get_image_frame", {**base, "instance_number": 5})
        unique = await call(client, "get_image_frame", {**base, "instance_number": 6})
        chosen = await call(
            client, "get_image_frame", {**base, "image_frame_id": frame_ids[str(datasets[1].SOPInstanceUID)][0]}
        )
    error = error_of(shared)
    assert error["type"] == "validation_error" and "image_frame_id" in error["next_step"]
    for ds in datasets[:2]:
        assert str(ds.SOPInstanceUID) in error["message"]
        assert frame_ids[str(ds.SOPInstanceUID)][0] in error["message"]
    assert "position 0" in error["message"] and "position 10" in error["message"]
    assert ok(unique)["sop_instance_uid"] == str(datasets[2].SOPInstanceUID)
    assert ok(chosen)["sop_instance_uid"] == str(datasets[1].SOPInstanceUID)


async def test_a_slice_that_ties_with_another_instance_is_refused_with_the_candidates(
    fresh_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    datasets, frame_ids, base = _shared_numbers(fresh_service)
    async with Client(server_for(fresh_service)) as client:
        distinct = [await call(client, "get_image_frame", {**base, "slice_index": i}) for i in range(3)]
        tied = [await call(client, "get_image_frame", {**base, "slice_index": i}) for i in (3, 4)]
    # Display order: 5 @ 0, 5 @ 10, 6 @ 20, then the two 7s at 30 that nothing tells apart.
    assert [ok(r)["sop_instance_uid"] for r in distinct] == [str(ds.SOPInstanceUID) for ds in datasets[:3]]
    for result in tied:
        error = error_of(result)
        assert error["type"] == "validation_error"
        for ds in datasets[3:]:
            assert frame_ids[str(ds.SOPInstanceUID)][0] in error["message"]
        assert "acquisition 1" in error["message"] and "acquisition 2" in error["message"]


async def test_montage_labels_stay_unique_when_instances_share_numbers(
    fresh_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    datastore_id, image_set_id = _import(fresh_service, shared_number_series())
    async with Client(server_for(fresh_service)) as client:
        result = await call(client, "get_series_montage", {"image_set_id": image_set_id, "datastore_id": datastore_id})
    assert "labels: instance numbers #slice" in ok(result)["caption"]
    document = ImageSetDocument.from_json(_document(fresh_service, datastore_id, image_set_id))
    (series,) = document.series
    labels, legend = tile_labels([slice_target(series, i) for i in range(5)])
    assert labels == ["5#1", "5#2", "6#3", "7#4", "7#5"] and legend == "instance numbers #slice"
    enhanced_store, enhanced_id = _import(fresh_service, [enhanced_mr()])
    (enhanced,) = ImageSetDocument.from_json(_document(fresh_service, enhanced_store, enhanced_id)).series
    assert tile_labels([slice_target(enhanced, i) for i in range(4)]) == (
        ["1:1", "1:2", "1:3", "1:4"],
        "instance:frame",
    )
