"""The series viewer as an MCP App: its `ui://` resource (one self-contained HTML file built from `viewer/` in the
repository, shipped in the package) under a strict CSP, and the `_meta.ui` that binds tools to it."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import Any

from mcp.server.apps import Apps, ResourceCsp, Visibility

VIEWER_URI = "ui://healthimaging/viewer.html"
VIEWER_FILE = "viewer.html"


@cache
def viewer_html() -> str:
    """The built viewer (`npm run build` in viewer/ writes it; a test checks it matches its source)."""
    return files(__package__).joinpath(VIEWER_FILE).read_text(encoding="utf-8")


def ui_meta(visibility: Sequence[Visibility]) -> dict[str, Any]:
    """A tool's `_meta` binding it to the viewer: ["model", "app"] opens it, ["app"] serves only the view."""
    return {"ui": {"resourceUri": VIEWER_URI, "visibility": list(visibility)}}


def viewer_extension() -> Apps:
    """The Apps extension with the viewer resource. The view loads nothing from anywhere (no connect, resource or
    frame domains): pixels come from app-only tools through the host."""
    apps = Apps()
    apps.add_html_resource(
        VIEWER_URI,
        viewer_html(),
        name="series-viewer",
        title="Series viewer",
        description="Scroll, window, reformat and measure a HealthImaging series.",
        csp=ResourceCsp(connect_domains=[], resource_domains=[], frame_domains=[], base_uri_domains=[]),
        prefers_border=False,
    )
    return apps
