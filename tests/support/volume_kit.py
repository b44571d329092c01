"""Synthetic series (see volume_testdata) imported into a local service of their own, with a server on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from healthimaging_mcp.local.service import LocalService
from healthimaging_mcp.server import HealthImagingServer, build_server
from tests.support.mcp_testkit import settings_for
from tests.support.volume_testdata import import_series, new_datastore


@dataclass(frozen=True)
class Imported:
    """Series imported into a local service of their own, one image set each, and a server on it."""

    service: LocalService
    server: HealthImagingServer
    datastore_id: str
    image_sets: dict[str, str]  # name → image set ID

    def arguments(self, name: str, **more: Any) -> dict[str, Any]:
        """Tool arguments addressing the image set called `name`."""
        return {"datastore_id": self.datastore_id, "image_set_id": self.image_sets[name], **more}


@contextmanager
def imported(root: Path, series: dict[str, list[Dataset]]) -> Iterator[Imported]:
    """A running local service in `root` holding `series` (name → datasets), and a server with output in `root`."""
    with LocalService(root / "service") as service:
        datastore_id = new_datastore(service)
        ids = dict(zip(series, import_series(service, datastore_id, series.values())))
        yield Imported(service, build_server(settings_for(service.endpoint, root / "out")), datastore_id, ids)
