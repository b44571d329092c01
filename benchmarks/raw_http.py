"""The baseline client: SigV4-signed requests over one keep-alive `http.client` connection, nothing else."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICE = "medical-imaging"


@dataclass(frozen=True)
class SignedRequest:
    """A request signed once, ahead of timing; the service accepts a valid header repeatedly."""

    method: str
    path: str
    body: bytes
    headers: dict[str, str]


class RawClient:
    """Plain HTTP/1.1 to the service: what a request costs without botocore's serialise/sign/parse."""

    def __init__(self, endpoint: str, *, region: str = "us-east-1", access_key: str = "local", secret: str = "local"):
        parts = urlsplit(endpoint)
        self.endpoint = endpoint.rstrip("/")
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._signer = SigV4Auth(Credentials(access_key, secret), SERVICE, region)
        self._conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def sign(self, method: str, path: str, body: dict[str, Any] | None = None) -> SignedRequest:
        data = json.dumps(body).encode() if body is not None else b""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        request = AWSRequest(method=method, url=self.endpoint + path, data=data, headers=headers)
        self._signer.add_auth(request)
        return SignedRequest(method, path, data, dict(request.headers.items()))

    def send(self, request: SignedRequest) -> tuple[int, dict[str, str], bytes]:
        """(status, lower-case headers, body) of one round trip on the kept-alive connection."""
        self._conn.request(request.method, request.path, body=request.body, headers=request.headers)
        response = self._conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body

    def close(self) -> None:
        self._conn.close()


def image_set_path(datastore_id: str, image_set_id: str, action: str) -> str:
    return f"/datastore/{quote(datastore_id, safe='')}/imageSet/{quote(image_set_id, safe='')}/{action}"


def get_image_frame_request(client: RawClient, datastore_id: str, image_set_id: str, frame_id: str) -> SignedRequest:
    """GetImageFrame: POST with the ImageFrameInformation structure as the JSON payload."""
    path = image_set_path(datastore_id, image_set_id, "getImageFrame")
    return client.sign("POST", path, {"imageFrameId": frame_id})


def get_image_set_metadata_request(client: RawClient, datastore_id: str, image_set_id: str) -> SignedRequest:
    """GetImageSetMetadata: POST with no body; the answer is gzip JSON."""
    return client.sign("POST", image_set_path(datastore_id, image_set_id, "getImageSetMetadata"))
