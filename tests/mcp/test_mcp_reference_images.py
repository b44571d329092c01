"""Real-world files of pydicom-data imported into a fresh local service and looked at through MCP get_image_frame
look like pydicom's reference rendering (resized to the same size; the orientation letters left out)."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from functools import partial

import imagecodecs
import numpy as np
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from pydicom.dataset import Dataset

from healthimaging_mcp.dicom.values import find_value
from healthimaging_mcp.imaging.orientation import draw_edge_labels, edge_labels
from healthimaging_mcp.imaging.resample import resize
from healthimaging_mcp.local.service import LocalService
from tests.support.dicom_files import pydicom_data_dir
from tests.support.mcp_testkit import call, images_of, ok
from tests.support.reference_pipeline import read_reference, reference_display, reference_frames

pytestmark = pytest.mark.anyio

#: One file per path of the pipeline: plain and segmented palettes, PixelAspectRatio, VOI and Modality LUT
#: sequences, enhanced multi-frame MR (small: enlarged), segmentation, MONOCHROME1 (J2K), a big MR (shrunk).
FILES = (
    "OBXXXX1A.dcm",
    "gdcm-US-ALOKA-16.dcm",
    "color-pl.dcm",
    "vlut_04.dcm",
    "mlut_18.dcm",
    "emri_small.dcm",
    "liver.dcm",
    "RG3_J2KR.dcm",
    "MR2_J2KR.dcm",
)
MAX_MEAN_DIFFERENCE = 1.0  # grey levels, after both images went through the same resampling


def _label_mask(ds: Dataset, index: int, shape: tuple[int, ...]) -> np.ndarray:
    """Pixels the orientation letters may cover (True), for a cross-sectional image; else none."""
    labels = edge_labels(find_value(ds, "ImageOrientationPatient", index))
    if labels is None:
        return np.zeros(shape[:2], dtype=bool)
    dark, light = np.zeros(shape, np.uint8), np.full(shape, 255, np.uint8)
    changed: np.ndarray = (draw_edge_labels(dark, labels) != dark) | (draw_edge_labels(light, labels) != light)
    return changed if changed.ndim == 2 else np.any(changed, axis=2)


@pytest.mark.skipif(pydicom_data_dir() is None, reason="pydicom-data is not installed")
async def test_pydicom_data_files_render_like_the_reference_through_the_service(
    fresh_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    data_dir = pydicom_data_dir()
    assert data_dir is not None
    client = fresh_service.client()
    datastore_id = client.create_datastore(datastoreName="pydicom-data")["datastoreId"]
    rows = []
    async with Client(server_for(fresh_service)) as mcp:
        for name in FILES:
            path = data_dir / name
            (imported,) = fresh_service.backend.import_files(
                datastore_id, [(name, partial(path.read_bytes))]
            ).image_sets
            blob = client.get_image_set_metadata(datastoreId=datastore_id, imageSetId=imported.image_set_id)
            document = json.loads(gzip.decompress(blob["imageSetMetadataBlob"].read()))
            ((instance,),) = [s["Instances"].values() for s in document["Study"]["Series"].values()]
            frame_ids = [frame["ID"] for frame in instance["ImageFrames"]]
            ds = read_reference(path)
            last = len(frame_ids) - 1
            references = reference_frames(ds, path, sorted({0, last}), len(frame_ids))
            for index in sorted({0, last}):
                expected, mode, spec = reference_display(ds, references[index], index)
                arguments = {
                    "image_set_id": imported.image_set_id,
                    "datastore_id": datastore_id,
                    "image_frame_id": frame_ids[index],
                }
                if spec is not None:
                    arguments["window"] = "none"
                result = await call(mcp, "get_image_frame", arguments)
                (image,) = images_of(result)
                shown = imagecodecs.png_decode(base64.b64decode(image.data)).astype(np.float64)
                height, width = ok(result)["height"], ok(result)["width"]
                reference = resize(expected.astype(np.uint8), height, width).astype(np.float64)
                keep = ~_label_mask(ds, index, shown.shape)
                mad = float(np.abs(shown - reference)[keep].mean())
                rows.append(f"| {name} | frame {index} | {mode} | {width}×{height} | {mad:.3f} |")
                assert mad <= MAX_MEAN_DIFFERENCE, (name, index, mode, mad)
    print("\n| file | frame | compared | shown | MAD |\n|---|---|---|---|---:|\n" + "\n".join(rows))
    assert len(rows) == len(FILES) + 2  # emri_small and liver: first and last frames
