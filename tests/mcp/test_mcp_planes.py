"""Seeing a series as a volume through MCP: planes and slabs at positions in patient millimetres, measurements in
HU, checked against synthetic CT series of known geometry imported through the local service (regular, tilted
with uneven spacing and a gap, enhanced multi-frame), and the 128-slice chest phantom."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import imagecodecs
import numpy as np
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from healthimaging_mcp.local.samples.phantom import LANDMARKS_MM, PhantomGeometry
from healthimaging_mcp.server import build_server
from tests.support.mcp_testkit import call, error_of, images_of, ok, settings_for, text_of
from tests.support.volume_kit import Imported, imported
from tests.support.volume_testdata import Sphere, SyntheticCT, import_series, tilted

pytestmark = pytest.mark.anyio

BALL = Sphere((4.0, -3.0, 5.0), 10.0, 300.0)
SMALL = Sphere((-15.0, 12.0, -14.0), 4.0, 150.0)
AXES = {"sagittal": 0, "coronal": 1, "axial": 2}
PLANE_AXES = {  # (across, down): how radiologists look at each plane (DICOM LPS)
    "axial": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "coronal": ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0)),
    "sagittal": ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0)),
}
GAPPED = (*[-30.0 + 2.0 * k for k in range(8)], *[-10.0 + 3.0 * k for k in range(9)], *[22.0, 26.0, 30.0])
SERIES = {
    "regular": SyntheticCT((BALL, SMALL), noise=3.0),
    # Tilted 20° about x; slices 2, 3 then 4 mm apart with gaps of 6 and 8 mm between; numbered top to bottom.
    "tilted": SyntheticCT((BALL, SMALL), offsets=tuple(reversed(GAPPED)), orientation=tilted(20.0), noise=3.0),
}
ENHANCED = SyntheticCT((BALL, SMALL), offsets=tuple(-30.0 + 2.5 * k for k in range(25)))


@pytest.fixture(scope="module")
def volumes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Imported]:
    single = SyntheticCT((BALL,), offsets=(0.0,), description="ONE SLICE")
    series = {**{name: ct.datasets() for name, ct in SERIES.items()}, "enhanced": [ENHANCED.enhanced()]}
    with imported(tmp_path_factory.mktemp("volumes"), {**series, "single": single.datasets()}) as found:
        yield found


def series_of(name: str) -> SyntheticCT:
    return ENHANCED if name == "enhanced" else SERIES[name]


def grid_origin(ct: SyntheticCT, plane: str) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(across, down, first across mm, first down mm) of `plane`'s image, from the series' own corners."""
    across, down = (np.array(v) for v in PLANE_AXES[plane])
    far = (ct.size - 1) * ct.pixel_spacing
    corners = np.array(
        [
            ct.position(offset) + a * ct.row_direction + b * ct.column_direction
            for offset in ct.offsets
            for a in (0.0, far)
            for b in (0.0, far)
        ]
    )
    return across, down, float((corners @ across).min()), float((corners @ down).min())


def to_patient(ct: SyntheticCT, plane: str, position: float, column: float, row: float) -> np.ndarray:
    across, down, first_across, first_down = grid_origin(ct, plane)
    normal = np.zeros(3)
    normal[AXES[plane]] = 1.0
    spacing = ct.pixel_spacing
    result: np.ndarray = (
        across * (first_across + column * spacing) + down * (first_down + row * spacing) + normal * position
    )
    return result


async def saved_plane(client: Client, volumes: Imported, name: str, plane: str, position: float) -> dict[str, Any]:
    arguments = volumes.arguments(
        name, plane=plane, position_mm=position, include_image=False, save_as=f"{name}-{plane}", save_kind="modality"
    )
    answer = ok(await call(client, "get_image_frame", arguments))
    answer["values"] = np.load(answer["saved_to"], allow_pickle=False)
    return answer


def voxel_size(ct: SyntheticCT) -> float:
    """The largest voxel side: the median slice step (gaps aside) or the pixel spacing."""
    return max(ct.pixel_spacing, float(np.median(np.diff(sorted(ct.offsets)))))


@pytest.mark.parametrize("plane", ["axial", "coronal", "sagittal"])
@pytest.mark.parametrize("name", ["regular", "tilted", "enhanced"])
async def test_a_sphere_appears_where_it_is_and_measures_its_size(volumes: Imported, name: str, plane: str) -> None:
    ct = series_of(name)
    position = BALL.center[AXES[plane]]
    async with Client(volumes.server) as client:
        answer = await saved_plane(client, volumes, name, plane, position)
        values = answer["values"]
        rows, columns = np.nonzero(values > BALL.hu / 2)
        centre = to_patient(ct, plane, answer["position_mm"], columns.mean(), rows.mean())
        # The widest row of the sphere in the image, its end pixels measured with measure_image.
        row = int(np.argmax((values > BALL.hu / 2).sum(axis=1)))
        inside = np.flatnonzero(values[row] > BALL.hu / 2)
        line = await call(
            client,
            "measure_image",
            volumes.arguments(
                name,
                shape="line",
                points=[[int(inside[0]), row], [int(inside[-1]), row]],
                plane=plane,
                position_mm=position,
            ),
        )
    voxel = voxel_size(ct)
    assert answer["plane"] == plane and abs(answer["position_mm"] - position) <= voxel / 2
    assert np.abs(centre - np.array(BALL.center)).max() <= voxel / 2, (centre, BALL.center)
    length = ok(line)["length_mm"] + ct.pixel_spacing  # end pixel centres are one pixel short of the edges
    assert abs(length - 2 * BALL.radius) <= voxel, length
    assert abs(ok(line)["statistics"]["max"] - BALL.hu) < 15


@pytest.mark.parametrize("name", ["regular", "tilted"])
async def test_region_statistics_are_in_hu_within_1_hu(volumes: Imported, name: str) -> None:
    x, y, z = BALL.center
    inner = [[x - 4, y - 4, z], [x + 4, y - 4, z], [x + 4, y + 4, z], [x - 4, y + 4, z]]
    async with Client(volumes.server) as client:
        circle = await call(
            client, "measure_image", volumes.arguments(name, shape="circle", points=[list(BALL.center)], radius_mm=6)
        )
        square = await call(client, "measure_image", volumes.arguments(name, shape="polygon", points=inner))
        box = await call(
            client, "measure_image", volumes.arguments(name, shape="rectangle", points=[inner[0], inner[2]])
        )
        outside = await call(
            client, "measure_image", volumes.arguments(name, shape="circle", points=[[-25, -25, z]], radius_mm=4)
        )
    for result in (circle, square, box):
        answer = ok(result)
        stats = answer["statistics"]
        assert answer["units"] == "HU" and answer["plane"] == "axial" and answer["position_mm"] == pytest.approx(z)
        assert abs(stats["mean"] - BALL.hu) < 1.0, stats
        assert stats["area_mm2"] == pytest.approx(stats["pixel_count"] * 1.0)
        assert "HU" in text_of(result)
    assert ok(square)["statistics"]["pixel_count"] == ok(box)["statistics"]["pixel_count"] == 64  # centres at ±0.5 mm
    assert ok(circle)["statistics"]["area_mm2"] == pytest.approx(np.pi * 36, rel=0.1)
    assert abs(ok(outside)["statistics"]["mean"]) < 1.5  # background 0 HU


@pytest.mark.parametrize("name", ["regular", "tilted", "enhanced"])
async def test_a_region_grown_from_a_seed_has_the_spheres_volume_within_5_percent(volumes: Imported, name: str) -> None:
    async with Client(volumes.server) as client:
        result = await call(
            client,
            "measure_image",
            volumes.arguments(name, shape="region", points=[list(BALL.center)], value_range=[200, 400]),
        )
    stats = ok(result)["statistics"]
    assert stats["volume_ml"] == pytest.approx(BALL.volume_ml, rel=0.05), stats
    assert abs(stats["mean"] - BALL.hu) < 1.0
    assert "mL" in text_of(result)


async def test_a_point_probe_and_a_distance_in_patient_millimetres(volumes: Imported) -> None:
    a, b = [0.0, 0.0, 5.0], [12.0, 9.0, 5.0]
    async with Client(volumes.server) as client:
        inside = await call(client, "measure_image", volumes.arguments("regular", shape="point", points=[a]))
        background = await call(
            client, "measure_image", volumes.arguments("regular", shape="point", points=[[28.0, 28.0, 5.0]])
        )
        distance = await call(client, "measure_image", volumes.arguments("regular", shape="line", points=[a, b]))
        pixels = await call(
            client, "measure_image", volumes.arguments("regular", shape="line", points=[[10, 20], [13, 24]])
        )
    assert abs(ok(inside)["value"] - BALL.hu) < 12 and abs(ok(background)["value"]) < 12  # noise SD 3
    assert ok(distance)["length_mm"] == pytest.approx(15.0)
    assert ok(pixels)["length_mm"] == pytest.approx(5.0)  # 1 mm pixels: a 3-4-5 triangle


async def test_captions_say_plane_position_window_and_what_is_odd_about_the_stack(volumes: Imported) -> None:
    async with Client(volumes.server) as client:
        result = await call(client, "get_image_frame", volumes.arguments("tilted", plane="coronal"))
        slab = await call(
            client,
            "get_image_frame",
            volumes.arguments("regular", plane="axial", position_mm=-6.0, slab_mm=10, projection="mip"),
        )
    caption = text_of(result)
    assert "coronal at y = " in caption and "window C40/W400 HU (dicom)" in caption
    assert "gap of 6 mm between slices at -16.0 and -10.0 mm (left empty)" in caption
    assert "uneven slice spacing 2–4 mm" in caption
    (image,) = images_of(result)
    picture = imagecodecs.png_decode(base64.b64decode(image.data))
    assert picture.shape[:2] == (ok(result)["height"], ok(result)["width"])
    assert len(base64.b64decode(image.data)) < 768 * 1024
    assert "MIP of a 10 mm slab" in text_of(slab) and "axial at z = -6.0 mm" in text_of(slab)


async def test_a_gap_is_said_and_left_empty(volumes: Imported) -> None:
    gapped = SyntheticCT((BALL,), offsets=(*[-20.0 + 2 * k for k in range(6)], *[10.0 + 2 * k for k in range(6)]))
    datastore_id = volumes.datastore_id
    (image_set_id,) = import_series(volumes.service, datastore_id, [gapped.datasets()])
    base = {"datastore_id": datastore_id, "image_set_id": image_set_id, "include_image": False}
    async with Client(volumes.server) as client:
        coronal = await call(client, "get_image_frame", {**base, "plane": "coronal"})
        in_gap = await call(client, "get_image_frame", {**base, "plane": "axial", "position_mm": 0.0})
    assert "gap of 20 mm between slices at -10.0 and 10.0 mm (left empty)" in text_of(coronal)
    error = error_of(in_gap)
    assert error["type"] == "validation_error" and "gap" in error["message"]


async def test_the_volume_is_assembled_once_then_served_from_the_cache(volumes: Imported) -> None:
    server = build_server(settings_for(volumes.service.endpoint, None))
    cache = server.runtime.volumes
    async with Client(server) as client:
        for plane in ("axial", "coronal", "sagittal"):
            ok(await call(client, "get_image_frame", volumes.arguments("regular", plane=plane, include_image=False)))
        ok(await call(client, "measure_image", volumes.arguments("regular", shape="point", points=[[5, 5]])))
    assert (cache.misses, cache.hits) == (1, 3)
    assert cache.size == 64 * 64 * 31 * 2  # int16 stored values: the series' own rescale stays a rescale


async def test_a_series_larger_than_the_volume_cache_is_refused_with_what_to_do(volumes: Imported) -> None:
    server = build_server(settings_for(volumes.service.endpoint, None, volume_cache_mb=1))
    big = SyntheticCT((BALL,), size=256, offsets=tuple(float(k) for k in range(12)))
    (image_set_id,) = import_series(volumes.service, volumes.datastore_id, [big.datasets()])
    arguments = {"datastore_id": volumes.datastore_id, "image_set_id": image_set_id, "plane": "coronal"}
    async with Client(server) as client:
        error = error_of(await call(client, "get_image_frame", arguments))
    assert error["type"] == "validation_error" and "2 MB volume" in error["message"]
    assert "--volume-cache-mb" in error["next_step"]


async def test_the_measurement_can_be_drawn_on_the_image(volumes: Imported) -> None:
    async with Client(volumes.server) as client:
        result = await call(
            client,
            "measure_image",
            volumes.arguments("regular", shape="circle", points=[list(BALL.center)], radius_mm=6, include_image=True),
        )
        plain = await call(
            client,
            "measure_image",
            volumes.arguments("regular", shape="circle", points=[list(BALL.center)], radius_mm=6),
        )
    (image,) = images_of(result)
    picture = imagecodecs.png_decode(base64.b64decode(image.data))
    yellow = (picture[:, :, 0] > 200) & (picture[:, :, 1] > 180) & (picture[:, :, 2] < 60)
    assert picture.shape == (256, 256, 3) and yellow.sum() > 40  # 64² enlarged to 256², the circle drawn
    assert images_of(plain) == []


async def test_the_drawn_measurement_can_be_saved_to_the_output_folder(volumes: Imported) -> None:
    circle = volumes.arguments("regular", shape="circle", points=[list(BALL.center)], radius_mm=6)
    async with Client(volumes.server) as client:
        shown = await call(client, "measure_image", {**circle, "include_image": True, "save_as": "roi/ball"})
        saved_only = await call(client, "measure_image", {**circle, "save_as": "roi/ball-only.png"})
        outside = await call(client, "measure_image", {**circle, "save_as": "../escape"})
    path, only = Path(ok(shown)["saved_to"]), Path(ok(saved_only)["saved_to"])
    assert path.name == "ball.png" and path.parent.name == "roi" and only.name == "ball-only.png"
    (image,) = images_of(shown)
    assert path.read_bytes() == base64.b64decode(image.data) == only.read_bytes()  # the picture shown, as shown
    assert text_of(shown).endswith(f"\nSaved to {path}") and text_of(shown).startswith("Circle mean 300")
    assert images_of(saved_only) == []  # saved, not shown
    assert ok(saved_only)["statistics"] == ok(shown)["statistics"]
    error = error_of(outside)
    assert error["type"] == "validation_error" and not (path.parents[2] / "escape.png").exists()


@pytest.mark.parametrize(
    ("arguments", "wanted"),
    [
        ({"shape": "line", "points": [[1, 2]]}, "A line takes 2 points"),
        ({"shape": "circle", "points": [[1, 2]]}, "needs radius_mm"),
        ({"shape": "region", "points": [[1, 2, 3]]}, "needs value_range"),
        ({"shape": "point", "points": [[1, 2, 3, 4]]}, "[column, row]"),
        ({"shape": "point", "points": [[500, 2]]}, "outside the image"),
        ({"shape": "point", "points": [[1, 2]], "position_mm": 400}, "outside the series"),
        ({"shape": "region", "points": [[0, 0, 5]], "value_range": [1000, 2000]}, "seed"),
        ({"shape": "line", "points": [[1, 2], [3, 4]], "radius_mm": 3}, "radius_mm is for circles"),
        ({"shape": "point", "points": [[1, 2]], "value_range": [0, 1]}, "value_range is for regions"),
    ],
)
async def test_measurements_that_cannot_be_made_are_refused_clearly(
    volumes: Imported, arguments: dict[str, Any], wanted: str
) -> None:
    async with Client(volumes.server) as client:
        error = error_of(await call(client, "measure_image", volumes.arguments("regular", **arguments)))
    assert error["type"] == "validation_error" and wanted in error["message"], error


@pytest.mark.parametrize(
    ("name", "arguments", "wanted"),
    [
        ("single", {"plane": "coronal"}, "at least two slices"),
        ("regular", {"plane": "axial", "save_as": "x", "save_kind": "encoded"}, "no stored frame"),
        ("regular", {"plane": "axial", "slab_mm": -2}, "slab_mm must be more than 0"),
        ("regular", {"plane": "axial", "projection": "minip"}, "projection applies to a slab"),
        ("regular", {"compare_with": "yesterday"}, "compare_with must be 'prior' or an image set ID"),
        ("regular", {"plane": "coronal", "instance_number": 3}, "not a coronal image"),
    ],
)
async def test_planes_that_cannot_be_shown_are_refused_clearly(
    volumes: Imported, name: str, arguments: dict[str, Any], wanted: str
) -> None:
    async with Client(volumes.server) as client:
        error = error_of(await call(client, "get_image_frame", volumes.arguments(name, **arguments)))
    assert error["type"] == "validation_error" and wanted in error["message"], error


async def test_the_plane_through_an_addressed_frame_is_that_frame(volumes: Imported) -> None:
    ct = SERIES["regular"]
    async with Client(volumes.server) as client:
        native = ok(await call(client, "get_image_frame", volumes.arguments("regular", instance_number=7)))
        through = ok(
            await call(client, "get_image_frame", volumes.arguments("regular", instance_number=7, plane="axial"))
        )
    assert native["plane"] == through["plane"] == "axial"
    assert native["position_mm"] == through["position_mm"] == pytest.approx(ct.offsets[6])
    assert f"axial z = {ct.offsets[6]:.1f} mm" in native["caption"]


# ---------------------------------------------------------------------------------------- the chest phantom


def phantom_z(depth: float) -> float:
    """z of the phantom slice showing anatomical `depth` (mm from the top of its 320 mm)."""
    geometry = PhantomGeometry()
    index = depth / 320.0 * (geometry.n_slices - 1)
    return geometry.z_of(round(index))


async def test_the_chest_phantom_in_coronal_and_sagittal_shows_anatomy_on_the_right_sides(
    read_server: MCPServer, sample_facts: Any, output_root: Path
) -> None:
    ct = sample_facts.ct_image_set_id
    right_lung, liver, lamina = LANDMARKS_MM["right_lung"], LANDMARKS_MM["liver"], LANDMARKS_MM["lamina"]
    async with Client(read_server) as client:
        coronal = await call(client, "get_image_frame", {"image_set_id": ct, "plane": "coronal", "position_mm": -20.0})
        coronal_values = await call(
            client,
            "get_image_frame",
            {"image_set_id": ct, "plane": "coronal", "position_mm": -20.0, "include_image": False}
            | {"save_as": "phantom-coronal", "save_kind": "modality"},
        )
        sagittal = await call(
            client,
            "get_image_frame",
            {"image_set_id": ct, "plane": "sagittal", "position_mm": 0.0, "include_image": False}
            | {"save_as": "phantom-sagittal", "save_kind": "modality"},
        )
    answer = ok(coronal)
    assert (answer["width"], answer["height"]) == (512, 407)  # 400 × 318 mm at 0.78 mm: the physical aspect
    values = np.load(ok(coronal_values)["saved_to"])
    spacing = PhantomGeometry().pixel_spacing
    top = PhantomGeometry().z_of(0)

    def at(x: float, z: float, first_x: float) -> float:
        return float(values[round((top - z) / spacing), round((x - first_x) / spacing)])

    first_x = PhantomGeometry().origin
    lung_z, liver_z = phantom_z(140.0), phantom_z(300.0)
    assert at(right_lung[0], lung_z, first_x) < -500  # the patient's right lung on the image's left…
    assert at(liver[0], liver_z, first_x) > 20  # …the liver below it
    assert round((right_lung[0] - first_x) / spacing) < 256
    sagittal_values = np.load(ok(sagittal)["saved_to"])
    lamina_column = round((lamina[1] - PhantomGeometry().origin) / spacing)  # posterior on the image's right
    assert lamina_column > 256 and sagittal_values[200, lamina_column] > 500
