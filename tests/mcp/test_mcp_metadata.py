"""Metadata at three depths within the output budget, with paging, saving, and a cache that is never stale."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from healthimaging_mcp.local.service import LocalService
from healthimaging_mcp.server import HealthImagingServer
from tests.support.mcp_stores import WritableStore
from tests.support.mcp_testkit import MODES, assert_short_rendering, call, error_of, ok, text_of
from tests.support.samples import SampleFacts

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", MODES)
async def test_the_summary_describes_patient_study_and_series(
    mode: str, read_server: MCPServer, sample_facts: SampleFacts
) -> None:
    async with Client(read_server, mode=mode) as client:
        result = await call(client, "get_image_set_metadata", {"image_set_id": sample_facts.ct_image_set_id})
    data = ok(result)
    assert (data["depth"], data["version_id"], data["datastore_id"]) == ("summary", "1", sample_facts.datastore_id)
    summary = data["summary"]
    assert summary["patient"]["id"] == "PAT-ALICE-001"
    assert summary["study"]["description"] == "CT CHEST W CONTRAST"
    (series,) = summary["series"]
    assert series["series_instance_uid"] == sample_facts.ct_series_uid
    assert (series["modality"], series["instance_count"], series["frame_count"]) == ("CT", 128, 128)
    assert (series["rows"], series["columns"], series["slice_thickness"]) == (512, 512, 2.5)
    assert summary["truncated"] is False
    text = assert_short_rendering(result)
    assert "128 instances" in text and "AXIAL 2.5MM" in text
    assert "imageSetMetadataBlob" not in text and len(json.dumps(data)) < 8000


async def test_series_depth_pages_through_every_instance(read_server: MCPServer, sample_facts: SampleFacts) -> None:
    ct, series = sample_facts.ct_image_set_id, sample_facts.ct_series_uid
    seen: list[str] = []
    offset, pages = 0, 0
    async with Client(read_server) as client:
        while True:
            result = await call(
                client,
                "get_image_set_metadata",
                {"image_set_id": ct, "depth": "series", "series_instance_uid": series, "offset": offset},
            )
            page = ok(result)["series"]
            assert page["offset"] == offset and page["total"] == 128
            assert page["returned"] == len(page["instances"]) > 0
            seen += [row["sop_instance_uid"] for row in page["instances"]]
            pages += 1
            if page.get("next_offset") is None:
                break
            offset = page["next_offset"]
            assert "next_offset" in text_of(result) or str(offset) in text_of(result)
        defaulted = await call(client, "get_image_set_metadata", {"image_set_id": ct, "depth": "series"})
    expected = [uid for _, uid, _ in sample_facts.ct_instances()]
    assert seen == expected
    assert pages >= 2
    assert ok(defaulted)["series"]["instances"][0]["sop_instance_uid"] == expected[0]


async def test_instance_depth_lists_attributes_and_selects_keywords(
    read_server: MCPServer, sample_facts: SampleFacts
) -> None:
    number, sop_uid, frame_id = sample_facts.ct_instances()[5]
    async with Client(read_server) as client:
        full = await call(
            client,
            "get_image_set_metadata",
            {"image_set_id": sample_facts.ct_image_set_id, "depth": "instance", "sop_instance_uid": sop_uid},
        )
        chosen = await call(
            client,
            "get_image_set_metadata",
            {
                "image_set_id": sample_facts.ct_image_set_id,
                "depth": "instance",
                "sop_instance_uid": sop_uid,
                "keywords": ["InstanceNumber", "SliceThickness", "00200013", "NoSuchKeyword"],
            },
        )
        series_rows = await call(
            client,
            "get_image_set_metadata",
            {
                "image_set_id": sample_facts.ct_image_set_id,
                "depth": "series",
                "keywords": ["SliceLocation", "KVP"],
            },
        )
    instance = ok(full)["instance"]
    assert (instance["sop_instance_uid"], instance["instance_number"]) == (sop_uid, number)
    assert instance["frames"][0]["id"] == frame_id
    keywords = {row["keyword"] for row in instance["attributes"]}
    assert {"PatientID", "StudyInstanceUID", "InstanceNumber", "ImagePositionPatient"} <= keywords
    assert all(re.fullmatch(r"\([0-9A-F]{4},[0-9A-F]{4}\)", row["tag"]) for row in instance["attributes"])
    picked = ok(chosen)["instance"]
    assert {row["keyword"] for row in picked["attributes"]} == {"InstanceNumber", "SliceThickness"}
    assert "NoSuchKeyword" in picked["unknown_keywords"]
    assert [str(row["value"]) for row in picked["attributes"] if row["keyword"] == "InstanceNumber"] == [str(number)]
    first_row = ok(series_rows)["series"]["instances"][0]
    assert set(first_row["attributes"]) <= {"SliceLocation", "KVP"} and first_row["attributes"]


@pytest.mark.parametrize("mode", MODES)
async def test_instance_text_shows_the_segments_of_the_sample_segmentation(
    mode: str, read_server: MCPServer, sample_facts: SampleFacts
) -> None:
    (seg,) = [s for s in sample_facts.summaries if s["DICOMTags"].get("DICOMSeriesModality") == "SEG"]
    async with Client(read_server, mode=mode) as client:
        series = await call(client, "get_image_set_metadata", {"image_set_id": seg["imageSetId"], "depth": "series"})
        sop_uid = ok(series)["series"]["instances"][0]["sop_instance_uid"]
        result = await call(
            client,
            "get_image_set_metadata",
            {"image_set_id": seg["imageSetId"], "depth": "instance", "sop_instance_uid": sop_uid},
        )
    text = text_of(result)
    lines = text.splitlines()
    start = lines.index("(0062,0002) SegmentSequence SQ = 1 item")
    assert lines[start + 1].startswith("  [1] SegmentNumber=1; SegmentLabel=Liver; ")
    assert lines[start + 2 : start + 4] == [
        "    SegmentedPropertyCategoryCodeSequence = Tissue (SRT T-D0050)",
        "    SegmentedPropertyTypeCodeSequence = Liver (SRT T-62000)",
    ]
    start = lines.index("(0008,1115) ReferencedSeriesSequence SQ = 1 item")
    assert lines[start + 1].startswith("  [1] SeriesInstanceUID=1.")
    assert lines[start + 2] == "    ReferencedInstanceSequence = 3 items"
    assert "[sequence of" not in text and len(text) < len(json.dumps(result.structured_content))
    rows = {row["keyword"]: row for row in ok(result)["instance"]["attributes"]}
    assert rows["SegmentSequence"]["value"][0]["SegmentLabel"] == "Liver"  # structured content unchanged


async def test_a_small_budget_truncates_with_a_marker_and_paging_reaches_the_end(
    sample_service: LocalService, sample_facts: SampleFacts, server_for: Callable[..., MCPServer]
) -> None:
    server = server_for(sample_service, max_output_chars=1500)
    ct, series = sample_facts.ct_image_set_id, sample_facts.ct_series_uid
    async with Client(server) as client:
        first = await call(
            client, "get_image_set_metadata", {"image_set_id": ct, "depth": "series", "series_instance_uid": series}
        )
        page = ok(first)["series"]
        assert page["truncated"] is True and page["next_offset"] == page["returned"] < 50
        assert len(json.dumps(page)) <= 1500
        assert f"output budget reached; continue with offset {page['next_offset']}" in text_of(first)
        seen, offset = [r["sop_instance_uid"] for r in page["instances"]], page["next_offset"]
        while offset is not None:
            page = ok(
                await call(
                    client,
                    "get_image_set_metadata",
                    {"image_set_id": ct, "depth": "series", "series_instance_uid": series, "offset": offset},
                )
            )["series"]
            seen += [r["sop_instance_uid"] for r in page["instances"]]
            offset = page.get("next_offset")
    assert seen == [uid for _, uid, _ in sample_facts.ct_instances()]


async def test_save_json_as_writes_the_full_document(
    read_server: MCPServer, sample_facts: SampleFacts, output_root: Path
) -> None:
    async with Client(read_server) as client:
        result = await call(
            client,
            "get_image_set_metadata",
            {"image_set_id": sample_facts.ct_image_set_id, "save_json_as": "exports/ct-metadata"},
        )
        escape = await call(
            client,
            "get_image_set_metadata",
            {"image_set_id": sample_facts.ct_image_set_id, "save_json_as": "../ct.json"},
        )
    path = Path(ok(result)["saved_to"])
    assert path == output_root.resolve() / "exports" / "ct-metadata.json"
    assert json.loads(path.read_text()) == sample_facts.ct_document
    assert str(path) in text_of(result)
    assert len(text_of(result)) < 3000
    assert error_of(escape)["type"] == "validation_error"


async def test_the_cache_serves_repeats_and_never_a_stale_version(
    store: WritableStore, server_for: Callable[..., HealthImagingServer]
) -> None:
    image_set_id = store.image_set_ids[0]
    server = server_for(store.service, allow_write=True)
    cache = server.runtime.documents.cache
    args: dict[str, Any] = {"image_set_id": image_set_id}
    async with Client(server) as client:
        first = ok(await call(client, "get_image_set_metadata", args))
        misses = cache.misses
        again = ok(await call(client, "get_image_set_metadata", {**args, "depth": "series"}))
        frame = ok(await call(client, "get_image_frame", {**args, "include_image": False}))
        assert cache.misses == misses and cache.hits >= 2
        assert again["version_id"] == "1"
        version_1_frames = {
            image_frame["ID"]
            for series in store.metadata(image_set_id, "1")["Study"]["Series"].values()
            for instance in series["Instances"].values()
            for image_frame in instance["ImageFrames"]
        }
        assert frame["image_frame_id"] in version_1_frames  # the frame came from the cached version 1
        ok(
            await call(
                client,
                "update_image_set_metadata",
                {
                    "image_set_id": image_set_id,
                    "latest_version_id": "1",
                    "set_attributes": {"study": {"StudyDescription": "UPDATED DESCRIPTION"}},
                },
            )
        )
        after = ok(await call(client, "get_image_set_metadata", args))
        old = ok(await call(client, "get_image_set_metadata", {**args, "version_id": "1"}))
    assert first["summary"]["study"]["description"] != "UPDATED DESCRIPTION"
    assert after["version_id"] == "2"
    assert after["summary"]["study"]["description"] == "UPDATED DESCRIPTION"
    assert old["summary"]["study"]["description"] == first["summary"]["study"]["description"]
