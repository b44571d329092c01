"""A token issuer for the auth tests: an RSA key made here, its JWKS and OpenID discovery document served on
127.0.0.1, and access tokens signed with it (or deliberately wrong)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

KID = "test-key-1"
READ, WRITE, DELETE = "healthimaging:read", "healthimaging:write", "healthimaging:delete"


def new_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Issuer:
    """An OAuth issuer at `url` whose JWKS publishes `key` under KID."""

    url: str
    key: RSAPrivateKey
    audience: str = ""  # the resource tokens are issued for unless a test says otherwise
    kid: str = KID

    def rotate(self) -> None:
        """A new signing key under a new `kid` (the old one is no longer published)."""
        self.key, self.kid = new_key(), f"{self.kid}+"

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "sub": "user-7",
            "client_id": "assistant-app",
            "aud": self.audience,
            "scope": READ,
            "iat": now,
            "exp": now + 300,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def token(self, *, key: RSAPrivateKey | None = None, **claims: Any) -> str:
        """An RS256 access token for `claims` (over the defaults; None drops a claim), signed with `key`."""
        return jwt.encode(self.claims(**claims), key or self.key, algorithm="RS256", headers={"kid": self.kid})

    def unsigned_token(self, **claims: Any) -> str:
        """The same claims with `alg: none` and no signature."""
        header = b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": self.kid}).encode())
        return f"{header}.{b64url(json.dumps(self.claims(**claims)).encode())}."

    def jwks(self) -> dict[str, Any]:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}


@contextmanager
def serve_issuer(audience: str = "") -> Iterator[Issuer]:
    """An Issuer on a free 127.0.0.1 port: `/issuer/.well-known/openid-configuration` and `/jwks.json`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    issuer = Issuer(f"http://127.0.0.1:{server.server_address[1]}/issuer", new_key(), audience)
    documents = {
        "/issuer/.well-known/openid-configuration": lambda: {
            "issuer": issuer.url,
            "jwks_uri": issuer.url.removesuffix("/issuer") + "/jwks.json",
        },
        "/jwks.json": issuer.jwks,
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            document = documents.get(self.path)
            body = json.dumps(document()).encode() if document else b"{}"
            self.send_response(200 if document else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
