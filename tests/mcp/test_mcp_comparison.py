"""Comparing with priors and seeing a study at a glance: the prior found from one image set (same patient,
modality and body part, latest earlier study), both shown side by side at matching positions in one window, and
one contact sheet per study; search answers name each image set's series and version."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

import imagecodecs
import numpy as np
import pytest
from mcp import Client

from tests.support.mcp_testkit import call, error_of, images_of, ok, text_of
from tests.support.volume_kit import Imported, imported
from tests.support.volume_testdata import Sphere, SyntheticCT

pytestmark = pytest.mark.anyio

PATIENT = "PAT-PRIOR-001"
MARKER = Sphere((0.0, 0.0, 10.0), 6.0, 400.0)  # 2/3 of the way up a stack centred on z = 0
TABLE_MOVED = 200.0  # the prior was scanned with the patient 200 mm further up the table


def ct(date: str, **changes: Any) -> SyntheticCT:
    fields: dict[str, Any] = {"spheres": (MARKER,), "patient_id": PATIENT, "study_date": date} | changes
    return SyntheticCT(**fields)


def moved(sphere: Sphere, dz: float) -> Sphere:
    x, y, z = sphere.center
    return Sphere((x, y, z + dz), sphere.radius, sphere.hu)


CURRENT = ct("20240501", description="CHEST W CONTRAST")
STUDY_SERIES = [
    ct("20240501", study_uid=CURRENT.study_uid, series_number=2, description="CHEST LUNG KERNEL"),
    ct("20240501", study_uid=CURRENT.study_uid, series_number=3, description="CHEST MIP", offsets=(0.0, 5.0)),
]
HISTORY = {
    "prior": ct("20230301", spheres=(moved(MARKER, TABLE_MOVED),), center=(0.0, 0.0, TABLE_MOVED)),
    "older": ct("20220101"),
    "mr_later": ct("20230601", modality="MR", description="MR CHEST"),
    "head_later": ct("20230901", body_part="HEAD", description="CT HEAD"),
    "same_day_other_patient": ct("20231201", patient_id="PAT-SOMEONE-ELSE"),
    "same_frame": ct("20230401", patient_id="PAT-SAME-FRAME", frame_of_reference=CURRENT.frame_of_reference),
}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Imported]:
    series = {"current": CURRENT, **{f"study{s.series_number}": s for s in STUDY_SERIES}, **HISTORY}
    with imported(tmp_path_factory.mktemp("history"), {k: v.datasets() for k, v in series.items()}) as found:
        yield found


def panels(result: Any) -> tuple[np.ndarray, np.ndarray]:
    """The left and right panels of a side-by-side picture (split at the grey gap between them)."""
    (image,) = images_of(result)
    picture = imagecodecs.png_decode(base64.b64decode(image.data))
    middle = picture.shape[1] // 2
    return picture[:, : middle - 1], picture[:, middle + 1 :]


async def test_the_prior_is_found_and_shown_beside_at_the_matching_position(history: Imported) -> None:
    async with Client(history.server) as client:
        result = await call(
            client, "get_image_frame", history.arguments("current", compare_with="prior", position_mm=MARKER.center[2])
        )
    answer = ok(result)
    assert answer["compared_image_set_id"] == history.image_sets["prior"]
    caption = text_of(result)
    assert caption.startswith("Left: 2024-05-01 CT CHEST W CONTRAST (this image set) · right: 2023-03-01 CT SPHERES")
    assert "prior: same patient, CT, CHEST, study of 20230301" in caption
    assert "different frames of reference: matched at 67% along the z axis" in caption
    shown = re.search(r"axial at z = (\S+) mm \| (\S+) mm", caption)
    assert shown is not None and float(shown[1]) == 10.0 and float(shown[2]) == pytest.approx(10.0 + TABLE_MOVED)
    assert "same window C40/W400 HU (dicom)" in caption
    left, right = panels(result)
    for panel in (left, right):  # the marker, white in the mediastinal window, at the centre of both panels
        height, width = panel.shape
        assert panel[height // 2 + 8, width // 2] == 255, panel[height // 2 + 8, width // 2]
    assert answer["width"] == left.shape[1] + right.shape[1] + 2


async def test_with_a_shared_frame_of_reference_the_same_patient_coordinate_is_shown(history: Imported) -> None:
    async with Client(history.server) as client:
        result = await call(
            client,
            "get_image_frame",
            history.arguments(
                "current", compare_with=history.image_sets["same_frame"], plane="coronal", position_mm=0.0
            ),
        )
    caption = text_of(result)
    assert "same frame of reference: same patient coordinate" in caption
    assert "coronal at y = 0.0 mm | 0.0 mm" in caption
    assert ok(result)["compared_image_set_id"] == history.image_sets["same_frame"]


async def test_without_an_earlier_study_there_is_no_prior(history: Imported) -> None:
    async with Client(history.server) as client:
        oldest = await call(client, "get_image_frame", history.arguments("older", compare_with="prior"))
    error = error_of(oldest)
    assert error["type"] == "not_found" and "No earlier CT CHEST study of this patient" in error["message"]
    assert "compare_with=<image set ID>" in error["next_step"]


async def test_a_study_at_a_glance_has_one_labelled_tile_per_series(history: Imported) -> None:
    async with Client(history.server) as client:
        result = await call(client, "get_series_montage", history.arguments("current", whole_study=True))
        refused = await call(
            client,
            "get_series_montage",
            history.arguments("current", whole_study=True, series_instance_uid=CURRENT.series_uid),
        )
    caption = text_of(result)
    assert caption.startswith("Study of 2024-05-01 CT CHEST: 3 series in 3 image sets, the middle frame of each")
    for number, description, name in [(1, "CHEST W CONTRAST", "current"), (2, "CHEST LUNG KERNEL", "study2")]:
        assert f"{number} CT {description} (31 frames, image set {history.image_sets[name]})" in caption
    assert f"3 CT CHEST MIP (2 frames, image set {history.image_sets['study3']})" in caption
    (image,) = images_of(result)
    assert len(base64.b64decode(image.data)) < 768 * 1024
    assert ok(result)["slice_count"] == 3
    assert error_of(refused)["type"] == "validation_error"


async def test_search_answers_name_the_series_and_the_version(history: Imported) -> None:
    async with Client(history.server) as client:
        result = await call(client, "search_image_sets", {"datastore_id": history.datastore_id, "patient_id": PATIENT})
        again = await call(client, "search_image_sets", {"datastore_id": history.datastore_id, "patient_id": PATIENT})
    assert ok(again)["image_sets"] == ok(result)["image_sets"]  # the second from cached documents
    text = text_of(result)
    header = text.splitlines()[1]
    assert header.split()[:3] == ["image_set_id", "v", "patient"] and "series" in header
    row = next(line for line in text.splitlines() if line.startswith(history.image_sets["study2"]))
    assert "2 CHEST LUNG KERNEL" in row and row.split()[1] == "1"
    hits = {hit["image_set_id"]: hit for hit in ok(result)["image_sets"]}
    assert hits[history.image_sets["prior"]]["series_description"] == "SPHERES"
