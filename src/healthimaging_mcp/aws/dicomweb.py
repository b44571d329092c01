"""HealthImaging's DICOMweb APIs (QIDO-RS search, STOW-RS store), which no SDK models: SigV4-signed HTTP.

Requests are signed with botocore's SigV4 signer (service `medical-imaging`) with the credentials and region
of the boto3 clients, and sent by botocore's HTTP session (its TLS, proxy and pool handling). The endpoint is
`https://dicom-medical-imaging.<region>.amazonaws.com`, or `--endpoint-url` (the local service answers DICOMweb
on its one listener); paths are under `/datastore/<datastoreId>` (reference §11). Throttled answers (429, 503)
are retried with a growing delay; failures are raised as typed errors.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.exceptions import HTTPClientError, NoRegionError
from botocore.httpsession import URLLib3Session
from botocore.utils import get_environ_proxies

from ..errors import ErrorType, HealthImagingError
from .clients import POOL_SIZE, ClientFactory
from .errors import from_aws, from_http

if TYPE_CHECKING:
    from ..deploy.telemetry import Telemetry

log = logging.getLogger(__name__)

SERVICE = "medical-imaging"
DICOM_JSON = "application/dicom+json"
STOW_LIMIT_BYTES = 1 << 30
"""The largest STOW-RS request HealthImaging takes (reference §11.5)."""
RETRIES = 4
FIRST_RETRY_SECONDS = 0.5
TIMEOUT_SECONDS = 60


def endpoint_for(region: str) -> str:
    return f"https://dicom-medical-imaging.{region}.amazonaws.com"


@dataclass(frozen=True)
class StowAnswer:
    """A STOW-RS answer: 200 (all stored) or 409 (some failed), and its DICOM JSON dataset."""

    status: int
    dataset: dict[str, Any]


class DicomWeb:
    """The DICOMweb transactions the tools use, signed like the boto3 clients' requests."""

    def __init__(
        self,
        clients: ClientFactory,
        ready: Callable[[], None] | None = None,
        telemetry: Telemetry | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.clients = clients
        self.ready = ready  # --local waits for its sample data here, as for the native calls
        self.telemetry = telemetry
        self._sleep = sleep
        self._http: URLLib3Session | None = None

    # ------------------------------------------------------------------ transactions

    def search(self, datastore_id: str, path: str, params: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        """QIDO-RS: the DICOM JSON datasets `path` (`studies`, `studies/<uid>/series`, …) answers for `params`."""
        query = urlencode(list(params), quote_via=quote)
        response = self._send("SearchDICOM", "GET", f"{path}?{query}" if query else path, datastore_id)
        if response.status_code == 204 or not response.content:
            return []
        found = _json(response)
        if not isinstance(found, list):
            raise HealthImagingError(ErrorType.SERVICE, "The QIDO-RS answer is not a JSON array of datasets.")
        return found

    def store(self, datastore_id: str, files: Sequence[bytes]) -> StowAnswer:
        """STOW-RS: POST Part 10 files as one multipart request; 409 (some failed) is an answer, not an error."""
        boundary = f"himcp-{secrets.token_hex(12)}"
        body = b"".join(
            b"--%s\r\nContent-Type: application/dicom\r\n\r\n%s\r\n" % (boundary.encode(), data) for data in files
        ) + (b"--%s--\r\n" % boundary.encode())
        content_type = f'multipart/related; type="application/dicom"; boundary={boundary}'
        response = self._send(
            "StoreDICOM", "POST", "studies", datastore_id, body, {"Content-Type": content_type}, answers=(200, 409)
        )
        dataset = _json(response) if response.content else {}
        return StowAnswer(response.status_code, dataset if isinstance(dataset, dict) else {})

    # ------------------------------------------------------------------ signing and sending

    def _send(
        self,
        operation: str,
        method: str,
        path: str,
        datastore_id: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        answers: tuple[int, ...] = (200, 204),
    ) -> AWSResponse:
        if self.ready is not None:
            self.ready()
        started, retries = time.perf_counter(), 0
        try:
            credentials, region = self.clients.signing()
            if region is None:
                raise NoRegionError()
            endpoint = (self.clients.settings.endpoint_url or endpoint_for(region)).rstrip("/")
            url = f"{endpoint}/datastore/{datastore_id}/{path}"
            while True:
                response = self._attempt(method, url, body, headers or {}, credentials, region)
                if response.status_code in answers:
                    break
                if response.status_code in (429, 503) and retries < RETRIES:
                    self._sleep(FIRST_RETRY_SECONDS * 2**retries)
                    retries += 1
                    continue
                raise _failure(response)
        except Exception as exc:
            error = exc if isinstance(exc, HealthImagingError) else _unreachable(exc)
            if self.telemetry is not None:
                self.telemetry.aws_call(operation, time.perf_counter() - started, error.error_type.value, retries)
            raise error from exc
        if self.telemetry is not None:
            self.telemetry.aws_call(operation, time.perf_counter() - started, None, retries)
        return response

    def _attempt(
        self, method: str, url: str, body: bytes, headers: dict[str, str], credentials: Any, region: str
    ) -> AWSResponse:
        request = AWSRequest(
            method=method,
            url=url,
            data=body,
            headers={"Accept": DICOM_JSON, **headers, "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()},
        )
        if credentials is None:
            raise HealthImagingError(
                ErrorType.AUTH, "No AWS credentials were found for the DICOMweb request.", next_step=None
            )
        SigV4Auth(credentials.get_frozen_credentials(), SERVICE, region).add_auth(request)
        return self._session(url).send(request.prepare())

    def _session(self, url: str) -> URLLib3Session:
        if self._http is None:
            self._http = URLLib3Session(
                proxies=get_environ_proxies(url), timeout=TIMEOUT_SECONDS, max_pool_connections=POOL_SIZE
            )
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None


def _json(response: AWSResponse) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        raise HealthImagingError(ErrorType.SERVICE, "The DICOMweb answer is not JSON.") from None


def _failure(response: AWSResponse) -> HealthImagingError:
    """The typed error of a failed answer: `{"message": …}` and `x-amzn-ErrorType`, as HealthImaging sends them."""
    headers = response.headers
    code = (headers.get("x-amzn-ErrorType") or "").split(":", 1)[0] or None
    message = ""
    try:
        body = json.loads(response.content)
        if isinstance(body, dict):
            message = str(body.get("message") or body.get("Message") or "")
            code = code or body.get("__type") or body.get("code")
    except ValueError:
        message = response.content[:300].decode("utf-8", "replace").strip()
    status = response.status_code
    return from_http(
        status, code, message or f"DICOMweb request failed with HTTP {status}", headers.get("x-amzn-RequestId")
    )


def _unreachable(exc: Exception) -> HealthImagingError:
    if isinstance(exc, (HTTPClientError, BotocoreConnectionError)):  # incl. refused connections and proxies
        return HealthImagingError(
            ErrorType.SERVICE,
            "Cannot reach the HealthImaging DICOMweb endpoint.",
            next_step="Check network access, the region, and --endpoint-url.",
        )
    return from_aws(exc)
