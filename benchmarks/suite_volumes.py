"""Seeing a series as a volume: coronal reformat of the 128 × 512² chest CT through the MCP tool, cold (fetch +
decode + assemble + reformat + PNG) and warm (volume cached), ROI statistics on the cached volume, peak memory.

The floor is the bare decode of the same 128 HTJ2K frames (imagecodecs, one after another), measured in the same
run. The local service runs in this process (its HTTP handling shares the CPUs with the client).
"""

from __future__ import annotations

import resource
import sys
import tempfile
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path

import anyio
import imagecodecs
import numpy as np
from mcp import Client

from healthimaging_mcp.imaging.measure import circle_mask, region_stats
from healthimaging_mcp.imaging.reformat import plane_grid, sample_plane
from healthimaging_mcp.local.samples.collection import PHANTOM_SLICES
from healthimaging_mcp.local.samples.seeding import LOCAL_CALLER
from healthimaging_mcp.server import HealthImagingServer, build_server
from healthimaging_mcp.tools.series_volumes import open_volume
from healthimaging_mcp.volumes import VolumeCache

from .async_harness import AsyncCase, compare_async
from .fixtures import SeededService, seeded_service
from .harness import Cell, Options, Result, Table, compare
from .mcp_fixtures import ToolFailed, bench_settings, call_checked, ensure_dummy_credentials

COLD_TARGET_MS = 1000.0
WARM_TARGET_MS = 60.0
ROI_TARGET_MS = 20.0
FLOOR = f"{PHANTOM_SLICES} × imagecodecs.htj2k_decode (floor)"
ROI_CENTER_MM = (-70.0, -20.0, -300.0)  # in the phantom's liver


def run(options: Options) -> list[Table]:
    ensure_dummy_credentials()
    with tempfile.TemporaryDirectory(prefix="him-bench-volumes-") as tmp:
        root = Path(tmp)
        with seeded_service(root / "service", large_instances=4) as seeded:
            tables: list[Table] = anyio.run(_tables, seeded, root, options)
    return tables


async def _tables(seeded: SeededService, root: Path, options: Options) -> list[Table]:
    server = build_server(bench_settings(seeded.service.endpoint, root / "out"))
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(Client(server))
        return [await _volume_table(seeded, server, client, options)]


def _frames(seeded: SeededService) -> list[bytes]:
    """The CT's stored frames, read from the backend once (never timed)."""
    ct = seeded.ct
    params = {"datastoreId": ct.datastore_id, "imageSetId": ct.image_set_id}
    reads = seeded.service.backend.reads
    return [
        bytes(
            reads.get_image_frame({**params, "imageFrameInformation": {"imageFrameId": f}}, LOCAL_CALLER)[
                "imageFrameBlob"
            ]
        )
        for f in ct.frame_ids
    ]


async def _volume_table(seeded: SeededService, server: HealthImagingServer, client: Client, options: Options) -> Table:
    ct = seeded.ct
    runtime = server.runtime
    frames = _frames(seeded)
    base = {"datastore_id": ct.datastore_id, "image_set_id": ct.image_set_id}
    coronal = {**base, "plane": "coronal"}
    x, y, z = ROI_CENTER_MM
    roi = {**base, "shape": "circle", "points": [[x, y, z]], "radius_mm": 10.0}

    def floor(i: int) -> None:
        for data in frames:
            imagecodecs.htj2k_decode(data)

    async def cold(i: int) -> object:
        runtime.volumes = VolumeCache(runtime.settings.volume_cache_mb * 2**20)  # forget the volume, not the metadata
        return await call_checked(client, "get_image_frame", coronal)

    try:
        await call_checked(client, "get_image_frame", coronal)  # client, metadata and code paths warmed up
        cold_results = await compare_async(
            {FLOOR: floor, "coronal · MCP, cold (fetch + decode + assemble + reformat + PNG)": cold},
            n=options.n(7, 2),
            warmup=1,
            baselines={"coronal · MCP, cold (fetch + decode + assemble + reformat + PNG)": FLOOR},
        )
        await call_checked(client, "get_image_frame", coronal)
        warm_cases: dict[str, AsyncCase] = {
            "coronal · MCP, warm (volume cached)": lambda i: call_checked(client, "get_image_frame", coronal),
            "sagittal · MCP, warm": lambda i: call_checked(client, "get_image_frame", {**base, "plane": "sagittal"}),
            "coronal 20 mm MIP slab · MCP, warm": lambda i: call_checked(
                client, "get_image_frame", {**coronal, "slab_mm": 20.0, "window": "lung"}
            ),
            "ROI statistics (circle r 10 mm) · MCP, warm": lambda i: call_checked(client, "measure_image", roi),
        }
        warm_results = await compare_async(warm_cases, n=options.n(40, 5), warmup=3)
        failure = ""
    except ToolFailed as exc:
        cold_results, warm_results, failure = [], [], f" FAILED: {exc}"
    core_results = _core_results(server, ct.datastore_id, ct.image_set_id, options) if not failure else []
    results = [*cold_results, *warm_results, *core_results]
    rows = _rows(results)
    peak_mb = _peak_rss_mb()
    volume_mb = runtime.volumes.size / 2**20
    by_name = {r.name: r for r in results}
    cold_ms = next((r.p50_ms for r in cold_results if r.name != FLOOR), float("nan"))
    warm_ms = by_name["coronal · MCP, warm (volume cached)"].p50_ms if warm_results else float("nan")
    roi_ms = by_name["ROI statistics (circle r 10 mm) · MCP, warm"].p50_ms if warm_results else float("nan")
    note = (
        f"The {ct.instances}-slice 512×512 int16 chest CT (lossless HTJ2K) through an in-memory MCP session "
        "against the local service in this process; default window, max_size 512, PNG. Cold = the volume cache "
        "emptied before each call (metadata document and boto3 client warm): GetImageFrame × "
        f"{ct.instances} on 8 threads, decode, assemble, reformat, window, PNG. Floor = the bare HTJ2K decode of the "
        f"same {ct.instances} frames one after another, same interleaved run. Targets: cold < {COLD_TARGET_MS:g} ms: "
        f"{cold_ms:.0f} ms ({_verdict(cold_ms, COLD_TARGET_MS)}); warm < {WARM_TARGET_MS:g} ms: {warm_ms:.1f} ms "
        f"({_verdict(warm_ms, WARM_TARGET_MS)}); ROI statistics < {ROI_TARGET_MS:g} ms: {roi_ms:.1f} ms "
        f"({_verdict(roi_ms, ROI_TARGET_MS)}; the MCP call includes its GetImageSet latest-version check). "
        f"Volume cache: {volume_mb:.0f} MB held (bound {runtime.settings.volume_cache_mb} MB, --volume-cache-mb); "
        f"peak RSS of the whole benchmark process {peak_mb:.0f} MB.{failure}"
    )
    columns = ["case", "p50 ms", "p95 ms", "n", "floor p50 ms", "ratio to floor"]
    return Table("Volumes: coronal reformat cold and warm, ROI statistics", columns, rows, note, results)


def _core_results(server: HealthImagingServer, datastore_id: str, image_set_id: str, options: Options) -> list[Result]:
    """The pure core on the cached volume, without MCP or HealthImaging calls."""
    source = open_volume(server.runtime, datastore_id, image_set_id, None, None)
    volume = source.volume
    grid = plane_grid(volume.geometry, "axial", position=ROI_CENTER_MM[2])

    def roi(i: int) -> object:
        samples = sample_plane(volume, grid)
        pixels, _ = grid.to_pixels(np.array([ROI_CENTER_MM]))
        mask = circle_mask((grid.height, grid.width), (pixels[0][0], pixels[0][1]), 10.0 / grid.spacing)
        return region_stats(samples.values[mask & samples.valid])

    def reformat(i: int) -> object:
        return sample_plane(volume, plane_grid(volume.geometry, "coronal"))

    cases: dict[str, Callable[[int], object]] = {
        "core: coronal plane sampled (no window, no PNG)": reformat,
        "core: axial plane + circle mask + statistics": roi,
    }
    return compare(cases, n=options.n(60, 5), warmup=3)


def _rows(results: list[Result]) -> list[list[Cell]]:
    floor = next((r for r in results if r.name == FLOOR), None)
    rows: list[list[Cell]] = []
    for result in results:
        ratio = f"{result.p50_ms / floor.p50_ms:.2f}×" if floor and result.baseline == FLOOR else None
        base = floor.p50_ms if floor and result.baseline == FLOOR else None
        rows.append([result.name, result.p50_ms, result.p95_ms, result.n, base, ratio])
    return rows


def _verdict(measured: float, target: float) -> str:
    return "met" if measured < target else "MISSED"


def _peak_rss_mb() -> float:
    """Peak resident set size of this process (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024
