"""Seeing images: frames and montages as MCP images with patient-free captions, and files saved on request."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult

from healthimaging_mcp.local.service import LocalService
from tests.support.mcp_testkit import MODES, call, error_of, images_of, ok, text_of
from tests.support.samples import SampleFacts

pytestmark = pytest.mark.anyio

PHI = ("DEMO^ALICE", "ALICE", "PAT-ALICE-001", "1968", "ACC24031201")


def decoded(result: CallToolResult) -> np.ndarray:
    (image,) = images_of(result)
    assert image.mime_type == "image/png"
    return imagecodecs.png_decode(base64.b64decode(image.data))


def assert_patient_free(result: CallToolResult) -> None:
    text = text_of(result) + str(ok(result).get("caption"))
    for marker in PHI:
        assert marker not in text, f"{marker} in {text!r}"


@pytest.mark.parametrize("mode", MODES)
async def test_the_default_frame_is_the_middle_slice_as_a_png_with_a_caption(
    mode: str, read_server: MCPServer, sample_facts: SampleFacts
) -> None:
    async with Client(read_server, mode=mode) as client:
        result = await call(client, "get_image_frame", {"image_set_id": sample_facts.ct_image_set_id})
    data = ok(result)
    pixels = decoded(result)
    assert pixels.shape[:2] == (data["height"], data["width"]) == (512, 512)
    assert (data["slice_index"], data["slice_count"]) == (64, 128)
    assert "image_data" not in data and "image_set_id" not in data
    number, sop_uid, frame_id = sample_facts.ct_instances()[64]
    assert (data["instance_number"], data["sop_instance_uid"], data["image_frame_id"]) == (number, sop_uid, frame_id)
    caption = text_of(result)
    assert caption == data["caption"]
    assert "CT" in caption and f"instance {number}" in caption and "512×512" in caption and "window" in caption
    assert len(caption) < 300
    assert_patient_free(result)


@pytest.mark.parametrize("mode", MODES)
async def test_frames_are_addressed_by_instance_number_slice_index_or_frame_id(
    mode: str, read_server: MCPServer, sample_facts: SampleFacts
) -> None:
    ct, series = sample_facts.ct_image_set_id, sample_facts.ct_series_uid
    number, sop_uid, frame_id = sample_facts.ct_instances()[10]
    async with Client(read_server, mode=mode) as client:
        by_number = await call(
            client, "get_image_frame", {"image_set_id": ct, "series_instance_uid": series, "instance_number": number}
        )
        by_index = await call(client, "get_image_frame", {"image_set_id": ct, "slice_index": 10})
        by_id = await call(client, "get_image_frame", {"image_set_id": ct, "image_frame_id": frame_id})
        out_of_range = await call(client, "get_image_frame", {"image_set_id": ct, "slice_index": 128})
    for result in (by_number, by_index, by_id):
        assert (ok(result)["image_frame_id"], ok(result)["sop_instance_uid"]) == (frame_id, sop_uid)
        assert ok(result)["slice_index"] == 10
    assert np.array_equal(decoded(by_number), decoded(by_id))
    error = error_of(out_of_range)
    assert error["type"] == "validation_error" and "0-127" in error["message"]


async def test_lung_and_bone_windows_show_different_pixels(read_server: MCPServer, sample_facts: SampleFacts) -> None:
    ct = sample_facts.ct_image_set_id
    async with Client(read_server) as client:
        lung = await call(client, "get_image_frame", {"image_set_id": ct, "window": "lung"})
        bone = await call(client, "get_image_frame", {"image_set_id": ct, "window": "bone"})
        explicit = await call(
            client, "get_image_frame", {"image_set_id": ct, "window_center": -600, "window_width": 1500}
        )
    assert (ok(lung)["window_center"], ok(lung)["window_width"]) == (-600, 1500)
    assert "lung" in ok(lung)["window_source"] and "lung" in text_of(lung)
    assert ok(bone)["window_width"] > 1000 and ok(bone)["window_center"] > 200
    lung_pixels, bone_pixels = decoded(lung), decoded(bone)
    assert np.mean(lung_pixels != bone_pixels) > 0.2
    assert lung_pixels.mean() > bone_pixels.mean()  # soft tissue is bright in a lung window, dark in a bone window
    assert np.array_equal(decoded(explicit), lung_pixels)


async def test_jpeg_and_a_smaller_size_on_request(read_server: MCPServer, sample_facts: SampleFacts) -> None:
    async with Client(read_server) as client:
        result = await call(
            client,
            "get_image_frame",
            {"image_set_id": sample_facts.ct_image_set_id, "image_format": "jpeg", "max_size": 200},
        )
        text_only = await call(
            client, "get_image_frame", {"image_set_id": sample_facts.ct_image_set_id, "include_image": False}
        )
    (image,) = images_of(result)
    assert image.mime_type == "image/jpeg"
    pixels = imagecodecs.jpeg8_decode(base64.b64decode(image.data))
    assert pixels.shape[:2] == (ok(result)["height"], ok(result)["width"]) == (200, 200)
    assert images_of(text_only) == []
    assert "512×512" in text_of(text_only)


async def test_saved_files_land_in_the_output_folder_and_pixels_match_the_service(
    read_server: MCPServer, sample_facts: SampleFacts, sample_service: LocalService, output_root: Path
) -> None:
    ct = sample_facts.ct_image_set_id
    _, _, frame_id = sample_facts.ct_instances()[64]
    async with Client(read_server) as client:
        rendered = await call(client, "get_image_frame", {"image_set_id": ct, "save_as": "views/middle"})
        encoded = await call(client, "get_image_frame", {"image_set_id": ct, "save_as": "raw", "save_kind": "encoded"})
        raw = await call(client, "get_image_frame", {"image_set_id": ct, "save_as": "pixels", "save_kind": "pixels"})
    png_path, encoded_path, npy_path = (Path(ok(r)["saved_to"]) for r in (rendered, encoded, raw))
    assert png_path == output_root.resolve() / "views" / "middle.png"
    assert encoded_path == output_root.resolve() / "raw.jph" and npy_path == output_root.resolve() / "pixels.npy"
    assert f"Saved to {png_path}" in text_of(rendered)
    assert np.array_equal(imagecodecs.png_decode(png_path.read_bytes()), decoded(rendered))
    service_bytes = (
        sample_service.client()
        .get_image_frame(
            datastoreId=sample_facts.datastore_id, imageSetId=ct, imageFrameInformation={"imageFrameId": frame_id}
        )["imageFrameBlob"]
        .read()
    )
    assert encoded_path.read_bytes() == service_bytes
    saved = np.load(npy_path, allow_pickle=False)
    reference = imagecodecs.htj2k_decode(service_bytes)
    assert saved.shape == reference.shape == (512, 512)
    assert np.array_equal(saved, reference)


async def test_saved_pixels_say_their_units_and_come_in_hounsfield_units_on_request(
    read_server: MCPServer, sample_facts: SampleFacts
) -> None:
    ct = sample_facts.ct_image_set_id
    async with Client(read_server) as client:
        stored = await call(
            client, "get_image_frame", {"image_set_id": ct, "save_as": "units/stored", "save_kind": "pixels"}
        )
        hounsfield = await call(
            client, "get_image_frame", {"image_set_id": ct, "save_as": "units/hu", "save_kind": "modality"}
        )
        colour = await call(
            client,
            "get_image_frame",
            {"image_set_id": _image_set_of(sample_facts, "US"), "save_as": "units/rgb", "save_kind": "modality"},
        )
    assert "stored values, int16 .npy; HU = value × 1 - 1024" in text_of(stored)
    assert "HU, float32 .npy" in text_of(hounsfield)
    assert "window C40/W400 HU (dicom)" in text_of(hounsfield)
    values = np.load(ok(hounsfield)["saved_to"], allow_pickle=False)
    raw = np.load(ok(stored)["saved_to"], allow_pickle=False)
    assert values.dtype == np.float32 and np.array_equal(values, raw.astype(np.float32) - 1024)
    assert error_of(colour)["type"] == "validation_error" and "no modality values" in error_of(colour)["message"]


def _image_set_of(sample_facts: SampleFacts, modality: str) -> str:
    image_set_id: str = next(
        s["imageSetId"] for s in sample_facts.summaries if s["DICOMTags"].get("DICOMSeriesModality") == modality
    )
    return image_set_id


@pytest.mark.parametrize("requested", ["../escape.png", "/etc/escape.png", "views/../../escape.png", "."])
async def test_paths_outside_the_output_folder_are_refused(
    read_server: MCPServer, sample_facts: SampleFacts, output_root: Path, requested: str
) -> None:
    async with Client(read_server) as client:
        result = await call(
            client, "get_image_frame", {"image_set_id": sample_facts.ct_image_set_id, "save_as": requested}
        )
    error = error_of(result)
    assert error["type"] == "validation_error"
    assert not (output_root.parent / "escape.png").exists() and not Path("/etc/escape.png").exists()


async def test_saving_without_an_output_folder_is_refused(
    sample_service: LocalService, sample_facts: SampleFacts, server_for: Callable[..., MCPServer]
) -> None:
    async with Client(server_for(sample_service, output_dir=None)) as client:
        result = await call(client, "get_image_frame", {"image_set_id": sample_facts.ct_image_set_id, "save_as": "x"})
    error = error_of(result)
    assert "--output-dir" in error["next_step"]


@pytest.mark.parametrize("mode", MODES)
async def test_a_montage_tiles_evenly_spaced_frames_in_one_image(
    mode: str, read_server: MCPServer, sample_facts: SampleFacts
) -> None:
    async with Client(read_server, mode=mode) as client:
        result = await call(
            client,
            "get_series_montage",
            {"image_set_id": sample_facts.ct_image_set_id, "count": 9, "tile_size": 128, "window": "mediastinum"},
        )
    data = ok(result)
    pixels = decoded(result)
    side = 3 * 128 + 2 * 2  # 3 × 3 tiles with 2-pixel gaps
    assert pixels.shape[:2] == (data["height"], data["width"]) == (side, side)
    assert "Montage of 9 of 128 frames" in text_of(result) and "instance numbers" in text_of(result)
    tiles = [pixels[r * 130 : r * 130 + 128, c * 130 : c * 130 + 128] for r in range(3) for c in range(3)]
    assert all(tile.std() > 5 for tile in tiles)  # every tile holds an image
    assert not np.array_equal(tiles[0], tiles[8])
    assert_patient_free(result)


async def test_every_sample_image_set_renders(read_server: MCPServer, sample_facts: SampleFacts) -> None:
    """All modalities and transfer syntaxes of the sample collection come back as viewable images."""
    async with Client(read_server) as client:
        for summary in sample_facts.summaries:
            result = await call(client, "get_image_frame", {"image_set_id": summary["imageSetId"], "max_size": 128})
            assert not result.is_error, (summary["DICOMTags"].get("DICOMSeriesModality"), text_of(result))
            (image,) = images_of(result)
            pixels = imagecodecs.png_decode(base64.b64decode(image.data))
            assert pixels.shape[:2] == (ok(result)["height"], ok(result)["width"])
            assert max(pixels.shape[:2]) <= 128
            assert_patient_free(result)


async def test_the_tool_pipeline_decodes_every_sample_file_to_its_source_pixels(
    read_server: MCPServer, sample_facts: SampleFacts, sample_service: LocalService, output_root: Path
) -> None:
    """Fetched through get_image_frame and saved before windowing (.npy), every frame of every sample file
    equals the source DICOM's own pixel frames bit for bit (the CT phantom: first, middle and last slice)."""
    import gzip
    import json

    from healthimaging_mcp.imaging.dataset_pixels import iter_frames
    from healthimaging_mcp.local.samples.collection import sample_datasets

    sources = {str(ds.SOPInstanceUID): ds for _, ds in sample_datasets() if "PixelData" in ds}
    client_boto = sample_service.client()
    checked = 0
    async with Client(read_server) as client:
        for summary in sample_facts.summaries:
            image_set_id = summary["imageSetId"]
            blob = client_boto.get_image_set_metadata(datastoreId=sample_facts.datastore_id, imageSetId=image_set_id)
            document = json.loads(gzip.decompress(blob["imageSetMetadataBlob"].read()))
            for series in document["Study"]["Series"].values():
                instances = sorted(series["Instances"].items())
                if len(instances) > 3:  # the 128-slice phantom: a few slices are enough
                    instances = [instances[0], instances[len(instances) // 2], instances[-1]]
                for sop_uid, instance in instances:
                    expected = list(iter_frames(sources[sop_uid]))
                    assert len(instance["ImageFrames"]) == len(expected), sop_uid
                    for index, frame in enumerate(instance["ImageFrames"]):
                        name = f"exact/{sop_uid}-{index}"
                        result = await call(
                            client,
                            "get_image_frame",
                            {
                                "image_set_id": image_set_id,
                                "image_frame_id": frame["ID"],
                                "include_image": False,
                                "save_as": name,
                                "save_kind": "pixels",
                            },
                        )
                        pixels = np.load(ok(result)["saved_to"], allow_pickle=False)
                        assert pixels.dtype == expected[index].dtype, (sop_uid, index)
                        assert np.array_equal(pixels, expected[index]), (sop_uid, index)
                        checked += 1
    assert checked >= 60  # 18 bundled files (several multi-frame) + 3 phantom slices


def _sample_series(sample_facts: SampleFacts, description: str) -> dict[str, str]:
    """get_image_frame arguments for the sample series with this description (one image set per series)."""
    from healthimaging_mcp.local.samples.collection import BUNDLED_FILES

    uid = str(next(f.series_instance_uid for f in BUNDLED_FILES if f.series_description == description))
    image_set_id = next(
        s["imageSetId"] for s in sample_facts.summaries if s["DICOMTags"].get("DICOMSeriesInstanceUID") == uid
    )
    return {"image_set_id": image_set_id, "series_instance_uid": uid}


async def test_palette_colour_renders_in_colour_with_every_window(
    read_server: MCPServer, sample_facts: SampleFacts
) -> None:
    palette = _sample_series(sample_facts, "DOPPLER PALETTE")
    async with Client(read_server) as client:
        default = await call(client, "get_image_frame", {**palette, "max_size": 800})
        none = await call(client, "get_image_frame", {**palette, "max_size": 800, "window": "none"})
    pixels = decoded(default)
    assert pixels.ndim == 3 and pixels.shape[2] == 3
    assert (np.abs(pixels[..., 0].astype(int) - pixels[..., 2]) > 40).sum() > 50  # coloured markers, not grey
    assert np.array_equal(decoded(none), pixels) and pixels.max() == 255


async def test_a_large_montage_stays_small_and_says_its_tiles_were_shrunk(
    read_server: MCPServer, sample_facts: SampleFacts
) -> None:
    async with Client(read_server) as client:
        result = await call(
            client,
            "get_series_montage",
            {"image_set_id": sample_facts.ct_image_set_id, "count": 64, "tile_size": 512},
        )
    (image,) = images_of(result)
    size = len(base64.b64decode(image.data))
    assert size <= 768 * 1024 and len(image.data) < 1_100_000, size
    assert "tiles shrunk from 512 to" in text_of(result)
    assert max(ok(result)["width"], ok(result)["height"]) <= 2048


async def test_segmentation_and_dose_montages(read_server: MCPServer, sample_facts: SampleFacts) -> None:
    async with Client(read_server) as client:
        seg = await call(client, "get_series_montage", {**_sample_series(sample_facts, "LIVER SEGMENTATION")})
        dose = await call(client, "get_series_montage", {**_sample_series(sample_facts, "RT DOSE"), "count": 4})
    mask = decoded(seg)
    assert (mask == 0).mean() > 0.6 and (mask == 255).mean() > 0.05  # white liver on black
    assert "(mask)" in text_of(seg)
    assert "labels: instance:frame" in text_of(dose)
    assert "relative (auto)" in text_of(dose)  # the window in the dose's own units (DoseUnits RELATIVE)
    sheet = decoded(dose)
    tiles = [sheet[r * 194 + 20 : r * 194 + 192, c * 194 : c * 194 + 192] for r in range(2) for c in range(2)]
    assert all(tile.std() > 20 for tile in tiles)  # a dose gradient in every tile, not a flat white
