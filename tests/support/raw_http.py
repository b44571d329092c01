"""Raw HTTP to the local service (signed with botocore's SigV4 signer, or not), below boto3's parsing."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(
    endpoint: str,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    sign: bool = True,
    host: str | None = None,
    access_key: str = "local",
    secret: str = "local",
    headers: dict[str, str] | None = None,
    signed_path: str | None = None,
    service: str = "medical-imaging",
) -> RawResponse:
    """Send one request; `host` overrides the Host header (and is what gets signed).

    `signed_path` signs another path than the one sent: a well-formed signature that does not match; `service` is
    the signing name in the credential scope.
    """
    parts = urlsplit(endpoint)
    all_headers = {"Host": host or parts.netloc, **(headers or {})}
    if body:
        all_headers.setdefault("Content-Type", "application/json")
    if sign:
        url = f"http://{all_headers['Host']}{signed_path or path}"
        request = AWSRequest(method=method, url=url, data=body, headers=all_headers)
        SigV4Auth(Credentials(access_key, secret), service, "us-east-1").add_auth(request)
        all_headers = dict(request.headers.items())
    assert parts.hostname, endpoint
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        return RawResponse(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()
