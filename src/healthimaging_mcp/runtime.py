"""What every tool call shares: settings, AWS clients, pacing, the default datastore, caches, redaction."""

from __future__ import annotations

import gzip
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from .aws.clients import ClientFactory
from .aws.pacing import Pacer
from .cache import TtlCache
from .dicom.document import ImageSetDocument
from .errors import ErrorType, HealthImagingError, from_aws, invalid
from .settings import Settings

log = logging.getLogger(__name__)

DATASTORE_LIST_TTL = 30.0


class Runtime:
    def __init__(
        self, settings: Settings, clients: ClientFactory | None = None, ready: Callable[[], None] | None = None
    ) -> None:
        self.settings = settings
        self.clients = clients or ClientFactory(settings)
        self.ready = ready  # called before every HealthImaging call: --local waits for its sample data here
        self.pacer = Pacer(settings.write_rate_per_second)
        self.metadata_cache: TtlCache[tuple[str, str, str], ImageSetDocument] = TtlCache(
            settings.metadata_cache_entries, settings.metadata_cache_ttl_seconds
        )
        self._active_datastores: tuple[float, list[dict[str, Any]]] | None = None
        self._lock = threading.Lock()
        self.pseudonyms: Any = None
        if settings.redact_phi:
            from .dicom.phi import Pseudonymizer

            self.pseudonyms = Pseudonymizer()

    # ------------------------------------------------------------------ calls

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """Call a HealthImaging operation (boto3 method name); None parameters are left out."""
        params = {key: value for key, value in params.items() if value is not None}
        if self.ready is not None:
            self.ready()
        waited = self.pacer.wait(operation)
        if waited:
            log.info("paced %s for %.1fs", operation, waited)
        try:
            result: dict[str, Any] = getattr(self.clients.client(), operation)(**params)
        except Exception as exc:
            raise from_aws(exc) from exc
        return result

    def client(self, service: str = "medical-imaging") -> Any:
        try:
            return self.clients.client(service)
        except Exception as exc:
            raise from_aws(exc) from exc

    # ------------------------------------------------------------------ datastores

    def active_datastores(self, *, refresh: bool = False) -> list[dict[str, Any]]:
        with self._lock:
            cached = self._active_datastores
        if cached and not refresh and time.monotonic() - cached[0] < DATASTORE_LIST_TTL:
            return cached[1]
        summaries: list[dict[str, Any]] = []
        token = None
        while True:
            page = self.call("list_datastores", datastoreStatus="ACTIVE", maxResults=50, nextToken=token)
            summaries += page.get("datastoreSummaries", [])
            token = page.get("nextToken")
            if not token:
                break
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
            return str(active[0]["datastoreId"])
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

    # ------------------------------------------------------------------ metadata

    def latest_version(self, datastore_id: str, image_set_id: str) -> str:
        return str(self.call("get_image_set", datastoreId=datastore_id, imageSetId=image_set_id)["versionId"])

    def document(self, datastore_id: str, image_set_id: str, version_id: str | None = None) -> ImageSetDocument:
        """The decoded metadata of one version, cached per (image set, version); the latest is looked up first."""
        version = version_id or self.latest_version(datastore_id, image_set_id)
        key = (datastore_id, image_set_id, version)
        cached = self.metadata_cache.get(key)
        if cached is not None:
            return cached
        response = self.call(
            "get_image_set_metadata", datastoreId=datastore_id, imageSetId=image_set_id, versionId=version
        )
        raw = response["imageSetMetadataBlob"].read()
        if response.get("contentEncoding") == "gzip" or raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        document = ImageSetDocument.from_json(json.loads(raw))
        self.metadata_cache.put(key, document)
        return document

    # ------------------------------------------------------------------ answers

    def reveal(self, value: str | None) -> str | None:
        """With redaction on, an argument may be a pseudonym handed out earlier: map it back to the real value."""
        if value is None or self.pseudonyms is None:
            return value
        original: str | None = self.pseudonyms.reveal(value)
        return original if original is not None else value

    def dump(self, value: Any) -> str:
        """JSON text for resources, redacted like tool answers."""
        if self.pseudonyms is not None:
            value = self.pseudonyms.redact(value)
        return json.dumps(value, ensure_ascii=False)

    def postprocess(self, output: Any) -> Any:
        """Applied to every tool answer before it leaves: PHI redaction when enabled."""
        if self.pseudonyms is None:
            return output
        redacted = self.pseudonyms.redact(output.model_dump(mode="json"))
        return type(output).model_validate(redacted)

    def close(self) -> None:
        self.clients.close()
