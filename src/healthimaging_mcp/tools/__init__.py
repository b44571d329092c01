"""MCP tools, grouped by toolset; each module declares its tools on a `Toolset`."""

from __future__ import annotations

from . import (
    changes,
    datastores,
    dicom_search,
    export,
    frames,
    image_sets,
    imports,
    measurements,
    metadata,
    overview,
    plans,
    tags,
    upload,
    viewer,
)
from .registry import Toolset

TOOLSETS: list[Toolset] = [
    datastores.toolset,
    image_sets.toolset,
    dicom_search.toolset,
    metadata.toolset,
    overview.toolset,
    export.toolset,
    frames.toolset,
    measurements.toolset,
    imports.toolset,
    upload.toolset,
    changes.toolset,
    plans.toolset,
    tags.toolset,
    viewer.toolset,
]
