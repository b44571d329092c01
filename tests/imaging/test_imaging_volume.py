"""The pure volume core: stacks sorted by position, what is odd about them said, planes sampled where the patient
is, slabs projected, regions measured."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset

from healthimaging_mcp.imaging.measure import circle_mask, grow_region, polygon_mask, rectangle_mask, region_stats
from healthimaging_mcp.imaging.reformat import Plane, plane_grid, sample_plane
from healthimaging_mcp.imaging.volume import (
    FrameGeometry,
    Volume,
    VolumeError,
    allocate_volume,
    plan_stack,
    put_slice,
    shared_rescale,
)
from tests.support.volume_testdata import Sphere, SyntheticCT, tilted

BALL = Sphere((4.0, -3.0, 5.0), 10.0, 300.0)  # its poles half-way between slices, as likely as any place


def volume_of(datasets: list[Dataset]) -> Volume:
    """Assemble datasets as the server does, without fetching: plan, allocate, put each slice."""
    plan = plan_stack([FrameGeometry.from_attributes(ds) for ds in datasets])
    members = [datasets[i] for i in plan.members]
    rescale = shared_rescale([(ds, 0) for ds in members])
    volume = allocate_volume(plan, np.dtype(np.int16), rescale, {"Modality": "CT"})
    for k, ds in enumerate(members):
        put_slice(volume, k, ds.pixel_array, ds, 0)
    return volume


def sphere_extent(values: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(columns, rows) of the samples above threshold."""
    rows, columns = np.nonzero(values > threshold)
    return columns, rows


def test_slices_are_sorted_by_position_along_the_normal_not_by_instance_number() -> None:
    offsets = (10.0, -10.0, 0.0, 4.0, -4.0)  # numbered 1..5 in this (unsorted) order
    datasets = SyntheticCT((BALL,), offsets=offsets).datasets()
    plan = plan_stack([FrameGeometry.from_attributes(ds) for ds in datasets])
    assert [offsets[i] for i in plan.members] == sorted(offsets)
    assert plan.notes == ["uneven slice spacing 4–6 mm (4 mm ×2, 6 mm ×2)"]


def test_gaps_and_uneven_spacing_are_reported_and_no_data_is_made_up_in_a_gap() -> None:
    offsets = (*[-20.0 + 2 * k for k in range(8)], *[10.0 + 3 * k for k in range(5)])  # 2 mm, a 16 mm gap, 3 mm
    volume = volume_of(SyntheticCT((BALL,), offsets=offsets).datasets())
    notes = " ".join(volume.notes)
    assert "gap of 16 mm between slices at -6.0 and 10.0 mm" in notes
    assert "uneven slice spacing 2–3 mm" in notes
    coronal = sample_plane(volume, plane_grid(volume.geometry, "coronal", position=0.0))
    grid = plane_grid(volume.geometry, "coronal", position=0.0)
    z = grid.origin[2] - np.arange(grid.height) * grid.spacing  # rows go down: z falls
    in_gap = (z > -6.0 + 0.5) & (z < 10.0 - 0.5)
    assert not coronal.valid[in_gap].any() and coronal.valid[~in_gap].all()
    with pytest.raises(ValueError, match="outside the series"):
        plane_grid(volume.geometry, "axial", position=40.0)


def test_localizers_are_left_out_and_the_largest_stack_is_used() -> None:
    axial = SyntheticCT((BALL,), offsets=tuple(float(k) for k in range(6))).datasets()
    coronal = SyntheticCT((BALL,), offsets=(0.0, 2.0), orientation=(1.0, 0.0, 0.0, 0.0, 0.0, -1.0)).datasets()
    scout = SyntheticCT((BALL,), offsets=(0.0,), orientation=(0.0, 1.0, 0.0, 0.0, 0.0, -1.0)).datasets()
    scout[0].ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    frames = [FrameGeometry.from_attributes(ds) for ds in [*scout, *coronal, *axial]]
    plan = plan_stack(frames)
    assert plan.members == [3, 4, 5, 6, 7, 8]
    assert plan.notes == ["1 localizer left out", "2 stacks in this series: using 6 axial 64×64; not 2 coronal 64×64"]


def test_stacks_at_the_same_positions_are_told_apart_by_temporal_position() -> None:
    datasets = SyntheticCT((BALL,), offsets=(0.0, 2.0, 4.0) * 2).datasets()
    for k, ds in enumerate(datasets):
        ds.TemporalPositionIndex = 1 + k // 3
    plan = plan_stack([FrameGeometry.from_attributes(ds) for ds in datasets])
    assert plan.members == [0, 1, 2]
    assert plan.notes == ["2 stacks at the same positions (by temporal position): using temporal position 1 (3 slices)"]
    with pytest.raises(VolumeError, match="at least two slices"):
        plan_stack([FrameGeometry.from_attributes(datasets[0])])


@pytest.mark.parametrize("orientation", [(1.0, 0.0, 0.0, 0.0, 1.0, 0.0), tilted(25.0)], ids=["axial", "tilted"])
@pytest.mark.parametrize("plane", ["axial", "coronal", "sagittal"])
def test_a_sphere_is_found_where_it_is_in_every_plane(plane: Plane, orientation: tuple[float, ...]) -> None:
    volume = volume_of(SyntheticCT((BALL,), orientation=orientation).datasets())
    axis = {"sagittal": 0, "coronal": 1, "axial": 2}[plane]
    grid = plane_grid(volume.geometry, plane, position=BALL.center[axis])
    samples = sample_plane(volume, grid)
    columns, rows = sphere_extent(samples.values, BALL.hu / 2)
    centre = grid.to_patient(np.array([[columns.mean(), rows.mean()]]))[0]
    voxel = max(volume.geometry.slice_step, *volume.geometry.spacing)
    assert np.abs(centre - np.array(BALL.center)).max() <= voxel / 2, (centre, BALL.center)
    for extent in (columns, rows):  # the diameter through the centre, within one voxel
        diameter = (extent.max() - extent.min() + 1) * grid.spacing
        assert abs(diameter - 2 * BALL.radius) <= voxel, diameter


def test_slabs_project_the_maximum_minimum_and_mean() -> None:
    small = Sphere((0.0, 0.0, 0.0), 3.0, 500.0)
    volume = volume_of(SyntheticCT((small,), background=-100.0).datasets())
    grid = plane_grid(volume.geometry, "axial", position=8.0)  # 8 mm above the sphere: no sphere in the plane
    assert sample_plane(volume, grid).values.max() == pytest.approx(-100.0)
    mip = sample_plane(volume, grid, slab=20.0, projection="mip").values
    minip = sample_plane(volume, grid, slab=20.0, projection="minip").values
    mean = sample_plane(volume, grid, slab=20.0, projection="mean").values
    assert mip.max() == pytest.approx(500.0) and minip.max() == pytest.approx(-100.0)
    assert -100.0 < mean.max() < 500.0


def test_masks_and_statistics_count_pixel_centres() -> None:
    shape = (20, 30)
    square = polygon_mask(shape, [(2, 3), (12, 3), (12, 8), (2, 8)])
    assert np.array_equal(square, rectangle_mask(shape, (2, 3), (12, 8)))
    assert int(square.sum()) == 11 * 6
    triangle = polygon_mask(shape, [(0, 0), (19, 0), (0, 19)])
    assert int(triangle.sum()) == 20 * 21 // 2
    assert int(circle_mask(shape, (10, 10), 2.0).sum()) == 13
    stats = region_stats(np.array([1.0, 2.0, 3.0, 4.0]))
    assert stats is not None and (stats.mean, stats.median, stats.minimum, stats.maximum) == (2.5, 2.5, 1.0, 4.0)
    assert stats.sd == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert region_stats(np.array([])) is None


def test_a_region_grows_within_its_range_and_never_across_a_gap() -> None:
    voxels = np.zeros((6, 8, 8), dtype=np.int16)
    voxels[:, 2:5, 2:5] = 100  # a column of 9 voxels per slice through all 6 slices
    region = grow_region(voxels, (0, 3, 3), 50, 150)
    assert region.indices.size == 6 * 9 and list(region.per_slice) == [9] * 6
    blocked = grow_region(voxels, (0, 3, 3), 50, 150, gaps=frozenset({2}))
    assert list(blocked.per_slice) == [9, 9, 9, 0, 0, 0]
    with pytest.raises(ValueError, match="seed"):
        grow_region(voxels, (0, 0, 0), 50, 150)
    with pytest.raises(ValueError, match="beyond 20 voxels"):
        grow_region(voxels, (0, 3, 3), 50, 150, max_voxels=20)
