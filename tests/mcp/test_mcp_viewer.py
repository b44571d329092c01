"""The series viewer (MCP Apps) through real MCP sessions: the extension and its resource, app-only tools hidden
from clients without Apps, view_series degrading to get_image_frame's answer, and the viewer's slices and
measurements equal to what the model's tools give for the same plane."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from mcp import Client
from mcp.client.extension import ClientExtension, advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.server.mcpserver import MCPServer
from mcp.types import TextResourceContents

from healthimaging_mcp.apps.viewer import VIEWER_URI, viewer_html
from healthimaging_mcp.local.service import LocalService
from tests.support.mcp_testkit import APP_ONLY_TOOLS, MODES, READ_TOOLS, call, error_of, images_of, ok, text_of
from tests.support.sample_phi import assert_no_phi
from tests.support.volume_kit import Imported, imported
from tests.support.volume_testdata import Sphere, SyntheticCT

pytestmark = pytest.mark.anyio

BALL = Sphere((0.0, 0.0, 0.0), 8.0, 300.0)
STUDY = SyntheticCT((BALL,), series_number=2, description="AXIAL 2MM")
SPLIT_STUDY = {  # one study, its series in two image sets; and another study of the same patient
    "first": STUDY,
    "second": SyntheticCT(
        (BALL,), study_uid=STUDY.study_uid, series_number=1, description="AXIAL 1MM", offsets=tuple(range(-20, 21))
    ),
    "other_study": SyntheticCT((BALL,), study_date="20230101", description="OTHER STUDY"),
}


def apps_client() -> list[ClientExtension]:
    """The capability an MCP Apps host declares."""
    return [advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})]


@pytest.mark.parametrize("mode", MODES)
async def test_the_extension_is_advertised_with_the_viewer_under_a_csp_that_allows_no_domain(
    mode: str, read_server: MCPServer
) -> None:
    async with Client(read_server, mode=mode, extensions=apps_client()) as client:
        extensions = client.server_capabilities.extensions if client.server_capabilities else None
        (content,) = (await client.read_resource(VIEWER_URI)).contents
    if mode == "auto":  # the SDK advertises extensions from protocol 2026-07-28 on; earlier hosts read tool _meta
        assert extensions is not None and EXTENSION_ID in extensions
    assert isinstance(content, TextResourceContents)
    assert content.mime_type == APP_MIME_TYPE
    meta = content.meta or {}
    assert meta["ui"]["csp"] == {"connectDomains": [], "resourceDomains": [], "frameDomains": [], "baseUriDomains": []}
    assert content.text == viewer_html()


@pytest.mark.parametrize("mode", MODES)
async def test_app_only_tools_are_listed_to_apps_hosts_only(mode: str, read_server: MCPServer) -> None:
    async with Client(read_server, mode=mode) as plain:
        without_apps = {t.name: t for t in (await plain.list_tools()).tools}
    async with Client(read_server, mode=mode, extensions=apps_client()) as host:
        with_apps = {t.name: t for t in (await host.list_tools()).tools}
    assert set(without_apps) == READ_TOOLS
    assert set(with_apps) == READ_TOOLS | APP_ONLY_TOOLS
    for name in APP_ONLY_TOOLS:
        assert with_apps[name].meta == {"ui": {"resourceUri": VIEWER_URI, "visibility": ["app"]}}
    opener = without_apps["view_series"].meta
    assert opener == {"ui": {"resourceUri": VIEWER_URI, "visibility": ["model", "app"]}}
    model_facing = [t for t in with_apps.values() if t.meta is None or t.meta["ui"]["visibility"] != ["app"]]
    assert {t.name for t in model_facing} == READ_TOOLS


@pytest.mark.parametrize("mode", MODES)
async def test_the_viewer_page_is_listed_to_apps_hosts_only(mode: str, read_server: MCPServer) -> None:
    async with Client(read_server, mode=mode) as plain:
        without_apps = [str(r.uri) for r in (await plain.list_resources()).resources]
        (readable,) = (await plain.read_resource(VIEWER_URI)).contents  # by name it still answers
    async with Client(read_server, mode=mode, extensions=apps_client()) as host:
        with_apps = {str(r.uri): r for r in (await host.list_resources()).resources}
    assert VIEWER_URI not in without_apps and without_apps
    assert with_apps[VIEWER_URI].mime_type == APP_MIME_TYPE
    assert set(with_apps) == {*without_apps, VIEWER_URI}
    assert isinstance(readable, TextResourceContents) and readable.mime_type == APP_MIME_TYPE


@pytest.mark.parametrize("mode", MODES)
async def test_view_series_without_apps_answers_as_get_image_frame(
    mode: str, read_server: MCPServer, sample_facts: Any
) -> None:
    ct = {"image_set_id": sample_facts.ct_image_set_id}
    async with Client(read_server, mode=mode) as plain:
        viewed = await call(plain, "view_series", ct)
        framed = await call(plain, "get_image_frame", {**ct, "plane": "axial"})  # the acquired plane
    async with Client(read_server, mode=mode, extensions=apps_client()) as host:
        shown = await call(host, "view_series", ct)
    assert text_of(viewed) == text_of(framed)
    assert [i.data for i in images_of(viewed)] == [i.data for i in images_of(framed)] != []
    assert ok(viewed)["slice_index"] == ok(framed)["slice_index"] == 63
    assert ok(viewed)["position_mm"] == ok(framed)["position_mm"]
    assert images_of(shown) == []  # the user sees the slices in the viewer; the model gets the caption
    assert text_of(shown) == f"Shown in the viewer, starting at: {text_of(framed)}"


@pytest.mark.parametrize(("plane", "middle"), [(None, 63), ("coronal", 255)])
async def test_view_series_numbers_slices_as_the_viewer_does(
    plane: str | None, middle: int, read_server: MCPServer, sample_facts: Any
) -> None:
    ct = {"image_set_id": sample_facts.ct_image_set_id}
    asked = {"plane": plane} if plane else {}
    async with Client(read_server, extensions=apps_client()) as host:
        started = ok(await call(host, "view_series", {**ct, **asked}))
        layout = ok(await call(host, "viewer_series", ct))["planes"][started["plane"]]
        slice_ = ok(
            await call(host, "viewer_slice", {**ct, "plane": started["plane"], "index": started["slice_index"]})
        )
    assert started["plane"] == (plane or "axial")
    assert started["slice_index"] == layout["middle"] == slice_["index"] == middle
    assert started["slice_count"] == layout["count"]
    assert started["position_mm"] == pytest.approx(slice_["position_mm"], abs=5e-4)


async def test_view_series_numbers_frames_of_a_series_that_makes_no_volume(
    read_server: MCPServer, sample_facts: Any
) -> None:
    single = next(s for s in sample_facts.summaries if s["DICOMTags"].get("DICOMSeriesModality") == "US")
    async with Client(read_server, extensions=apps_client()) as host:
        started = ok(await call(host, "view_series", {"image_set_id": single["imageSetId"]}))
    assert (started["slice_index"], started["slice_count"]) == (0, 1)


async def test_viewer_series_lists_the_planes_with_their_grids_and_presets(
    read_server: MCPServer, sample_facts: Any
) -> None:
    async with Client(read_server, extensions=apps_client()) as host:
        answer = ok(await call(host, "viewer_series", {"image_set_id": sample_facts.ct_image_set_id}))
    assert answer["series_instance_uid"] == sample_facts.ct_series_uid
    assert answer["acquired_plane"] == "axial" and answer["units"] == "HU" and answer["frame_count"] == 128
    axial, coronal, sagittal = (answer["planes"][name] for name in ("axial", "coronal", "sagittal"))
    assert (axial["count"], axial["step_mm"], axial["middle"]) == (128, 2.5, 63)
    assert (axial["grid_width"], axial["grid_height"]) == (512, 512)
    assert (coronal["count"], coronal["grid_height"]) == (512, 407)  # 127 × 2.5 mm / 0.78125 mm + 1
    assert (sagittal["count"], sagittal["grid_width"], sagittal["grid_height"]) == (512, 512, 407)
    assert answer["presets"]["lung"] == [-600.0, 1500.0]
    phantom, low_dose = answer["series"]  # the study's two series, each in an image set of its own
    assert (phantom["number"], phantom["frame_count"], phantom["image_set_id"]) == (2, 128, answer["image_set_id"])
    assert phantom["series_instance_uid"] == sample_facts.ct_series_uid
    assert (low_dose["number"], low_dose["description"], low_dose["frame_count"]) == (3, "AXIAL LOW DOSE 128", 1)
    assert low_dose["image_set_id"] != answer["image_set_id"]


async def test_a_series_that_makes_no_volume_is_shown_frame_by_frame(read_server: MCPServer, sample_facts: Any) -> None:
    single = next(s for s in sample_facts.summaries if s["DICOMTags"].get("DICOMSeriesModality") == "US")
    async with Client(read_server, extensions=apps_client()) as host:
        answer = ok(await call(host, "viewer_series", {"image_set_id": single["imageSetId"]}))
    assert answer["planes"] == {} and answer["frame_count"] >= 1
    assert answer["notes"] and "volume" in answer["notes"][0]


@pytest.mark.parametrize(
    ("plane", "index", "window"),
    [("axial", 63, None), ("coronal", 300, (-600.0, 1500.0)), ("sagittal", 200, (40.0, 400.0))],
)
async def test_viewer_slices_are_the_pictures_get_image_frame_gives(
    plane: str, index: int, window: tuple[float, float] | None, read_server: MCPServer, sample_facts: Any
) -> None:
    ct = {"image_set_id": sample_facts.ct_image_set_id}
    windowing = {"window_center": window[0], "window_width": window[1]} if window else {}
    async with Client(read_server, extensions=apps_client()) as host:
        viewed = await call(host, "viewer_slice", {**ct, "plane": plane, "index": index, **windowing})
        framed = await call(host, "get_image_frame", {**ct, "plane": plane, "slice_index": index, **windowing})
    slice_, frame = ok(viewed), ok(framed)
    assert slice_["index"] == frame["slice_index"] == index
    assert slice_["position_mm"] == pytest.approx(frame["position_mm"], abs=5e-4)
    assert (slice_["width"], slice_["height"]) == (frame["width"], frame["height"])
    assert (slice_["window_center"], slice_["window_width"]) == (frame["window_center"], frame["window_width"])
    assert [i.data for i in images_of(viewed)] == [i.data for i in images_of(framed)]
    assert images_of(viewed)[0].mime_type == "image/png"
    assert f"({index + 1}/{slice_['count']})" in text_of(viewed)


async def test_viewer_slabs_are_get_image_frame_slabs(read_server: MCPServer, sample_facts: Any) -> None:
    ct = {"image_set_id": sample_facts.ct_image_set_id}
    async with Client(read_server, extensions=apps_client()) as host:
        viewed = await call(host, "viewer_slice", {**ct, "plane": "coronal", "index": 250, "slab_mm": 10})
        thin = await call(host, "viewer_slice", {**ct, "plane": "coronal", "index": 250})
        framed = await call(
            host,
            "get_image_frame",
            {**ct, "plane": "coronal", "slice_index": 250, "slab_mm": 10, "projection": "mip"},
        )
    assert [i.data for i in images_of(viewed)] == [i.data for i in images_of(framed)]
    assert images_of(viewed)[0].data != images_of(thin)[0].data
    assert "MIP of a 10 mm slab" in text_of(viewed)


@pytest.mark.parametrize(
    ("shape", "points", "radius_mm"),
    [("line", [[100.0, 120.5], [300.0, 260.0]], None), ("circle", [[256.0, 256.0]], 12.0)],
)
async def test_viewer_measurements_are_measure_image_numbers(
    shape: str, points: list[list[float]], radius_mm: float | None, read_server: MCPServer, sample_facts: Any
) -> None:
    ct = {"image_set_id": sample_facts.ct_image_set_id}
    circle = {"radius_mm": radius_mm} if radius_mm else {}
    async with Client(read_server, extensions=apps_client()) as host:
        where = ok(await call(host, "viewer_slice", {**ct, "plane": "coronal", "index": 280}))["position_mm"]
        viewed = await call(
            host, "viewer_measure", {**ct, "plane": "coronal", "index": 280, "shape": shape, "points": points, **circle}
        )
        model = await call(
            host,
            "measure_image",
            {**ct, "plane": "coronal", "position_mm": where, "shape": shape, "points": points, **circle},
        )
    assert ok(viewed) == ok(model)
    assert text_of(viewed) == text_of(model)
    if shape == "line":
        spacing = 0.78125
        expected = ((200 * spacing) ** 2 + (139.5 * spacing) ** 2) ** 0.5
        assert ok(viewed)["length_mm"] == pytest.approx(expected, abs=0.01)
    else:
        assert ok(viewed)["statistics"]["area_mm2"] == pytest.approx(3.14159 * 12**2, rel=0.03)


async def test_a_measurement_drawn_on_a_slab_is_of_its_central_thin_plane_and_says_so(
    read_server: MCPServer, sample_facts: Any
) -> None:
    ct = {"image_set_id": sample_facts.ct_image_set_id}
    circle = {"plane": "coronal", "shape": "circle", "points": [[256.0, 200.0]], "radius_mm": 10.0}
    async with Client(read_server, extensions=apps_client()) as host:
        where = ok(await call(host, "viewer_slice", {**ct, "plane": "coronal", "index": 250}))["position_mm"]
        on_slab = await call(
            host, "viewer_measure", {**ct, **circle, "index": 250, "slab_mm": 10, "projection": "minip"}
        )
        thin = await call(host, "viewer_measure", {**ct, **circle, "index": 250})
        model = await call(host, "measure_image", {**ct, **circle, "position_mm": where})
    note = "measured on the central thin plane, not on the MinIP of a 10 mm slab shown"
    assert ok(on_slab)["note"].startswith(note) and f" · {ok(on_slab)['note']}" in text_of(on_slab)
    assert "note" not in ok(thin) and "thin plane" not in text_of(thin)
    numbers = {key: value for key, value in ok(on_slab).items() if key != "note"}
    assert (
        numbers
        == {key: value for key, value in ok(thin).items() if key != "note"}
        == {key: value for key, value in ok(model).items() if key != "note"}
    )


@pytest.fixture(scope="module")
def split_study(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Imported]:
    series = {name: ct.datasets() for name, ct in SPLIT_STUDY.items()}
    with imported(tmp_path_factory.mktemp("split-study"), series) as found:
        yield found


async def test_the_series_picker_lists_the_study_across_its_image_sets_and_switches_to_another(
    split_study: Imported,
) -> None:
    ids = split_study.image_sets
    async with Client(split_study.server, extensions=apps_client()) as host:
        opened = ok(await call(host, "viewer_series", split_study.arguments("first")))
        (other,) = [c for c in opened["series"] if c["image_set_id"] != ids["first"]]
        there = split_study.arguments("second", series_instance_uid=other["series_instance_uid"])
        switched = ok(await call(host, "viewer_series", there))
        middle = switched["planes"]["axial"]["middle"]
        viewed = await call(host, "viewer_slice", {**there, "plane": "axial", "index": middle})
        framed = await call(host, "get_image_frame", {**there, "plane": "axial", "slice_index": middle})
    listed = [(c["number"], c["description"], c["image_set_id"], c["frame_count"]) for c in opened["series"]]
    assert listed == [(1, "AXIAL 1MM", ids["second"], 41), (2, "AXIAL 2MM", ids["first"], 31)]  # by number
    assert (opened["image_set_id"], opened["series_instance_uid"]) == (ids["first"], STUDY.series_uid)
    assert (switched["image_set_id"], switched["series_instance_uid"]) == (
        ids["second"],
        SPLIT_STUDY["second"].series_uid,
    )
    assert switched["series"] == opened["series"] and (switched["frame_count"], middle) == (41, 20)
    assert "AXIAL 1MM · axial at z = 0.0 mm (21/41)" in text_of(viewed)
    assert [i.data for i in images_of(viewed)] == [i.data for i in images_of(framed)] != []


@pytest.mark.parametrize(
    ("tool", "arguments", "named"),
    [
        ("viewer_slice", {"plane": "axial", "index": 128}, "index"),
        ("viewer_slice", {"plane": "axial", "index": 3, "window_center": 40}, "window_center"),
        ("viewer_slice", {"plane": "axial", "index": 3, "max_size": 4096}, "max_size"),
        ("viewer_measure", {"plane": "axial", "index": 3, "shape": "region", "points": [[1, 2]]}, "measure_image"),
        ("viewer_measure", {"plane": "axial", "index": 3, "shape": "line", "points": [[1, 2, 3], [4, 5, 6]]}, "column"),
    ],
)
async def test_bad_viewer_requests_are_typed_errors(
    tool: str, arguments: dict[str, Any], named: str, read_server: MCPServer, sample_facts: Any
) -> None:
    async with Client(read_server, extensions=apps_client()) as host:
        result = await call(host, tool, {"image_set_id": sample_facts.ct_image_set_id, **arguments})
    error = error_of(result)
    assert error["type"] == "validation_error"
    assert named in json.dumps(error)


async def test_the_viewer_shows_no_patient_data_under_redact_phi(
    sample_service: LocalService, server_for: Callable[..., MCPServer], sample_facts: Any
) -> None:
    ct = {"image_set_id": sample_facts.ct_image_set_id}
    async with Client(server_for(sample_service, redact_phi=True), extensions=apps_client()) as host:
        results = [
            await call(host, "view_series", ct),
            await call(host, "viewer_series", ct),
            await call(host, "viewer_slice", {**ct, "plane": "sagittal", "index": 256, "slab_mm": 20}),
            await call(
                host, "viewer_measure", {**ct, "plane": "axial", "index": 9, "shape": "point", "points": [[9, 9]]}
            ),
        ]
    texts = [text_of(result) + json.dumps(ok(result)) for result in results]
    assert_no_phi(*texts)
