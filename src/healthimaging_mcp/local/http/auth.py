"""SigV4 request authentication for the local service.

Without configured credentials any well-formed SigV4 `Authorization` header is accepted (like a permissive
IAM policy); a request with none, or one whose credential scope names another service than `medical-imaging`,
is refused. With credentials, the signature is recomputed with botocore's own signer and must match. Refusals
are 403s with the codes AWS's front door uses (not the operations' modelled `AccessDeniedException`, which
means "authenticated, but not allowed").
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ..errors import AuthenticationError
from .protocol import HttpRequest

_AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<headers>[^,]+),\s*Signature=(?P<signature>[0-9a-f]{64})"
)
MAX_CLOCK_SKEW_SECONDS = 15 * 60
SIGNING_NAME = "medical-imaging"
"""The one service name HealthImaging accepts in a credential scope (native API and DICOMweb alike)."""


@dataclass(frozen=True)
class Caller:
    access_key: str
    region: str


@dataclass(frozen=True)
class Authenticator:
    """Checks the SigV4 header; verifies signatures when `credentials` maps access keys to secrets."""

    credentials: dict[str, str] | None = None

    def authenticate(self, request: HttpRequest) -> Caller:
        header = request.headers.get("authorization")
        if not header:
            raise AuthenticationError(
                "MissingAuthenticationTokenException", "Missing Authentication Token: sign requests with AWS SigV4"
            )
        match = _AUTH.match(header)
        if not match:
            raise AuthenticationError(
                "IncompleteSignatureException",
                "Authorization header is not a valid AWS SigV4 (AWS4-HMAC-SHA256) signature",
            )
        if match["service"] != SIGNING_NAME:
            raise AuthenticationError(
                "InvalidSignatureException", f"Credential should be scoped to correct service: '{SIGNING_NAME}'."
            )
        caller = Caller(match["key"], match["region"])
        if self.credentials is None:
            return caller
        secret = self.credentials.get(match["key"])
        if secret is None:
            raise AuthenticationError(
                "UnrecognizedClientException", "The security token included in the request is invalid."
            )
        amz_date = request.headers.get("x-amz-date", "")
        _check_clock(amz_date)
        expected = _signature(request, match, secret, amz_date)
        if not hmac.compare_digest(expected, match["signature"]):
            raise AuthenticationError(
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method.",
            )
        return caller


def _check_clock(amz_date: str) -> None:
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise AuthenticationError("IncompleteSignatureException", "Missing or malformed X-Amz-Date header") from None
    skew = abs((datetime.now(timezone.utc) - signed_at).total_seconds())
    if skew > MAX_CLOCK_SKEW_SECONDS:
        raise AuthenticationError(
            "InvalidSignatureException",
            "Signature expired: the request time is more than 15 minutes from the server time",
        )


def _signature(request: HttpRequest, match: re.Match[str], secret: str, amz_date: str) -> str:
    signed = match["headers"].split(";")
    headers = {name: request.headers.get(name, "") for name in signed}
    host = request.headers.get("host", "localhost")
    url = f"http://{host}{request.raw_path}" + (f"?{request.raw_query}" if request.raw_query else "")
    aws_request = AWSRequest(method=request.method, url=url, headers=headers, data=request.body)
    aws_request.context["timestamp"] = amz_date
    token = request.headers.get("x-amz-security-token")
    signer = SigV4Auth(Credentials(match["key"], secret, token), match["service"], match["region"])
    canonical = signer.canonical_request(aws_request)
    return signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)
