"""The URLs DICOMweb answers carry (RetrieveURL, BulkDataURI), under the datastore's service root."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from ...dicom.dicom_json import BulkDataLocator
from ...dicom.normalize import DEFAULT_MAX_INLINE_BYTES


@dataclass(frozen=True)
class ResourceUrls:
    """`root` is the service root as the client reached it, e.g. ``http://host:port/datastore/<id>``;
    `image_set_id` is carried on when the request named an image set."""

    root: str
    image_set_id: str | None = None

    @classmethod
    def for_request(
        cls, host: str | None, server: str | None, datastore_id: str, image_set_id: str | None = None
    ) -> ResourceUrls:
        """URLs for a request that came with Host `host` to the listener at `server` ("host:port").

        The Host header names the service as the client sees it (a proxy, another name) when it carries a
        port; without one, some clients (dicomweb-client) drop the port, so the listener's own port is used.
        """
        authority = host if host and ":" in host.rsplit("]", 1)[-1] else _with_port(host, server)
        prefix = f"http://{authority}" if authority else ""
        return cls(f"{prefix}/datastore/{quote(datastore_id, safe='')}", image_set_id)

    def _suffix(self) -> str:
        return f"?imageSetId={quote(self.image_set_id, safe='')}" if self.image_set_id else ""

    def study(self, study_uid: str) -> str:
        return f"{self.root}/studies/{study_uid}"

    def instance(self, study_uid: str, series_uid: str, sop_uid: str) -> str:
        return f"{self.root}/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}{self._suffix()}"

    def bulk_data(self, study_uid: str, series_uid: str, sop_uid: str, path: str) -> str:
        base = f"{self.root}/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}"
        return f"{base}/bulkdata/{path}{self._suffix()}"

    def bulk_data_locator(self, study_uid: str, series_uid: str, sop_uid: str) -> BulkDataLocator:
        """BulkDataURIs for binary values over 1 MiB (those import keeps outside the metadata); smaller ones
        stay inline, as HealthImaging answers them."""

        def locate(path: str, length: int) -> str | None:
            return self.bulk_data(study_uid, series_uid, sop_uid, path) if length > DEFAULT_MAX_INLINE_BYTES else None

        return locate


def _with_port(host: str | None, server: str | None) -> str | None:
    if server is None:
        return host
    if not host:
        return server
    return f"{host}:{server.rsplit(':', 1)[1]}"
