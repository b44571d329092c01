"""MCP tools, grouped by toolset; each module declares its tools on a `Toolset`."""

from __future__ import annotations

from . import changes, datastores, frames, image_sets, imports, measurements, metadata, tags, viewer
from .registry import Toolset

TOOLSETS: list[Toolset] = [
    datastores.toolset,
    image_sets.toolset,
    metadata.toolset,
    frames.toolset,
    measurements.toolset,
    imports.toolset,
    changes.toolset,
    tags.toolset,
    viewer.toolset,
]
