"""What every tool call shares: settings, HealthImaging calls (native and DICOMweb), metadata documents, series
volumes, redaction, the default datastore."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .aws.clients import ClientFactory
from .aws.dicomweb import DicomWeb
from .aws.healthimaging import HealthImaging
from .aws.pacing import Pacer
from .deploy.telemetry import Telemetry
from .errors import ErrorType, HealthImagingError, invalid
from .metadata import ImageSetDocuments
from .redaction import Redaction
from .settings import Settings
from .volumes import VolumeCache
from .workflows.handles import plan_key

if TYPE_CHECKING:
    from mypy_boto3_medical_imaging.type_defs import DatastoreSummaryTypeDef

DATASTORE_LIST_TTL = 30.0


class Runtime:
    def __init__(
        self,
        settings: Settings,
        clients: ClientFactory | None = None,
        ready: Callable[[], None] | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.settings = settings
        self.telemetry = telemetry or Telemetry()  # metrics; the no-op instruments unless exporting
        self.clients = clients or ClientFactory(settings, on_client=self.telemetry.watch)
        # `ready` is called before every HealthImaging call: --local waits for its sample data there.
        pacer = Pacer(settings.write_rate_per_second)
        observed = self.telemetry if self.telemetry.enabled else None
        self.aws = HealthImaging(self.clients, pacer, ready, observed)
        self.dicomweb = DicomWeb(self.clients, ready, observed)  # QIDO / STOW, signed like self.aws
        self.documents = ImageSetDocuments(self.aws, settings)
        self.volumes = VolumeCache(settings.volume_cache_mb * 2**20)
        self.redaction = Redaction(settings.redact_phi)
        self.plan_key = plan_key(settings)  # seals the handles of bulk-change plans (workflows.handles)
        self._active_datastores: tuple[float, list[DatastoreSummaryTypeDef]] | None = None
        self._lock = threading.Lock()

    def active_datastores(self, *, refresh: bool = False) -> list[DatastoreSummaryTypeDef]:
        """The ACTIVE datastores, listed at most every DATASTORE_LIST_TTL seconds unless `refresh`."""
        with self._lock:
            cached = self._active_datastores
        if cached and not refresh and time.monotonic() - cached[0] < DATASTORE_LIST_TTL:
            return cached[1]
        summaries = self.aws.all_datastores("ACTIVE")
        with self._lock:
            self._active_datastores = (time.monotonic(), summaries)
        return summaries

    def resolve_datastore(self, datastore_id: str | None) -> str:
        """The datastore a call acts on: the argument, the configured default, or the only ACTIVE one."""
        if datastore_id:
            return datastore_id
        if self.settings.datastore_id:
            return self.settings.datastore_id
        active = self.active_datastores()
        if len(active) == 1:
            return active[0]["datastoreId"]
        if not active:
            raise HealthImagingError(
                ErrorType.NOT_FOUND,
                "There is no ACTIVE datastore in this account and region.",
                next_step="Create one with create_datastore (write mode), or check the region.",
            )
        choices = ", ".join(f"{d['datastoreId']} ({d.get('datastoreName', '')})" for d in active[:10])
        raise invalid(
            f"{len(active)} ACTIVE datastores exist; say which one with datastore_id: {choices}",
            "Call again with datastore_id set (or start the server with --datastore-id).",
        )

    def forget_datastores(self) -> None:
        with self._lock:
            self._active_datastores = None

    def close(self) -> None:
        self.dicomweb.close()
        self.clients.close()
