"""DICOMweb to the local service: the independent `dicomweb-client` over a SigV4-signing requests session, and
raw signed requests for the edge cases."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import urlencode

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from dicomweb_client import DICOMwebClient

from healthimaging_mcp.local.service import LocalService
from tests.support.raw_http import RawResponse, raw_request

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


class SigV4RequestsAuth(requests.auth.AuthBase):
    """Signs each prepared request with botocore's SigV4 signer (service `medical-imaging`).

    A streamed body (dicomweb-client sends large STOW bodies chunked) cannot be hashed ahead, so it is
    signed as UNSIGNED-PAYLOAD, as AWS allows.
    """

    def __init__(self, access_key: str = "local", secret: str = "local", region: str = "us-east-1") -> None:
        self.credentials = Credentials(access_key, secret)
        self.region = region

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body
        headers = {k: v for k, v in request.headers.items() if k.lower() != "connection"}
        if body is None or isinstance(body, (bytes, str)):
            data = body.encode() if isinstance(body, str) else body or b""
            headers["X-Amz-Content-SHA256"] = hashlib.sha256(data).hexdigest()
        else:
            data, headers["X-Amz-Content-SHA256"] = b"", UNSIGNED_PAYLOAD
        signed = AWSRequest(method=request.method, url=request.url, data=data, headers=headers)
        SigV4Auth(self.credentials, "medical-imaging", self.region).add_auth(signed)
        request.headers.update(dict(signed.headers.items()))
        return request


def dicomweb_client(service: LocalService, datastore_id: str, **auth: str) -> DICOMwebClient:
    session = requests.Session()
    session.auth = SigV4RequestsAuth(**auth)
    return DICOMwebClient(f"{service.endpoint}/datastore/{datastore_id}", session=session)


def dicomweb_get(
    service: LocalService,
    datastore_id: str,
    path: str,
    params: dict[str, Any] | list[tuple[str, str]] | None = None,
    **kwargs: Any,
) -> RawResponse:
    """One signed raw GET of `/datastore/<id>/<path>?<params>`."""
    query = f"?{urlencode(params, doseq=True)}" if params else ""
    return raw_request(service.endpoint, "GET", f"/datastore/{datastore_id}/{path}{query}", **kwargs)


def values(dataset: dict[str, Any], tag: str) -> list[Any]:
    """The Value array of one attribute of a DICOM JSON dataset ([] when absent or empty)."""
    found: list[Any] = dataset.get(tag, {}).get("Value", [])
    return found


def first(dataset: dict[str, Any], tag: str) -> Any:
    found = values(dataset, tag)
    return found[0] if found else None


def json_body(response: RawResponse) -> Any:
    assert response.headers["content-type"].startswith("application/dicom+json"), response.headers
    return json.loads(response.body)
