"""Bearer tokens over streamable HTTP: JWTs verified against the issuer's published keys, scopes → capabilities.

The server is an OAuth 2.1 resource server (MCP authorization, RFC 9728): it never issues tokens, it checks
them. A token is accepted when its signature verifies with one of the issuer's JWKS keys (asymmetric algorithms
only: `none` and shared-secret HS* are refused), it is unexpired, its `iss` is the configured issuer, and it was
issued for this server: its `aud` names one of the accepted audiences (by default the server's resource URL,
RFC 8707), or, for issuers whose access tokens carry no `aud` (Amazon Cognito), its `client_id` is one of the
accepted client IDs. Scopes map to capabilities: read, write, delete.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.types import ToolAnnotations
from pydantic import AnyHttpUrl

from ..errors import ErrorType, HealthImagingError
from ..settings import url_problem

if TYPE_CHECKING:
    import jwt

    from ..settings import Settings

log = logging.getLogger(__name__)

# Public-key algorithms only: a token signed with a shared secret (HS*) or not at all (`none`) is refused.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
MAX_DOCUMENT_BYTES = 1 << 20
CLOCK_SKEW_SECONDS = 30  # for nbf/iat; expiry itself is enforced to the second by the SDK
REVERIFY_SECONDS = 300  # a token verified before is trusted again for at most this long (and never past exp)
VERIFIED_TOKENS = 1024  # how many such tokens are remembered


class Capability(str, Enum):
    READ = "read"
    WRITE = "write"
    DELETE = "delete"


def required_capability(annotations: ToolAnnotations | None, *, gated: bool = False) -> Capability:
    """What a tool needs: read-only tools read, destructive ones delete, the others write. A `gated` destructive
    tool needs write: it refuses its destructive forms itself to callers without delete (`calls.require`)."""
    if annotations is None or annotations.read_only_hint:
        return Capability.READ
    return Capability.DELETE if annotations.destructive_hint and not gated else Capability.WRITE


@dataclass(frozen=True)
class Caller:
    """Who makes the current request: a token's subject and client, or "local" (stdio, in memory, loopback
    HTTP without auth), and what they may do."""

    subject: str | None
    client_id: str | None
    capabilities: frozenset[Capability]

    @property
    def local(self) -> bool:
        return self.client_id is None

    def may(self, capability: Capability) -> bool:
        return capability in self.capabilities


LOCAL = Caller(None, None, frozenset(Capability))


def current_caller(scopes: Mapping[Capability, str]) -> Caller:
    """The caller of the request being served (`scopes`: the scope name granting each capability)."""
    token = get_access_token()
    if token is None:
        return LOCAL
    granted = frozenset(capability for capability, scope in scopes.items() if scope in token.scopes)
    return Caller(token.subject, token.client_id, granted)


def missing_scope(
    scope: str,
    what: str,
    next_step: str = "Use the tools listed for you, or ask an administrator for a token with that scope.",
) -> HealthImagingError:
    """access_denied: the caller's token does not carry `scope`, which `what` (a tool, or a use of one) needs."""
    return HealthImagingError(
        ErrorType.ACCESS_DENIED,
        f"Your access token does not carry the scope {scope!r} that {what} needs.",
        next_step=next_step,
    )


def _fetch_json(url: str, timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = response.read(MAX_DOCUMENT_BYTES + 1)
    if len(body) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"{url} answered more than {MAX_DOCUMENT_BYTES} bytes")
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError(f"{url} did not answer a JSON object")
    return document


class SigningKeys:
    """The issuer's public keys by `kid`: fetched from its JWKS URL (found through OpenID Connect discovery
    unless configured), refreshed every `lifespan` seconds, and at once (at most every `cooldown` seconds) when
    a token names an unknown `kid` (key rotation). Fetching runs in a worker thread; a failed fetch keeps the
    keys known so far."""

    def __init__(
        self, issuer: str, jwks_url: str | None = None, *, lifespan: float = 300, cooldown: float = 30
    ) -> None:
        self.issuer = issuer
        self.jwks_url = jwks_url
        self.lifespan = lifespan
        self.cooldown = cooldown
        self.timeout = 10.0
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at = -float("inf")
        self._lock = anyio.Lock()

    async def get(self, kid: str | None) -> jwt.PyJWK | None:
        if self._stale(kid):
            async with self._lock:
                if self._stale(kid):
                    await anyio.to_thread.run_sync(self._refresh)
        return self._keys.get(kid)

    def _stale(self, kid: str | None) -> bool:
        age = time.monotonic() - self._fetched_at
        return age > self.lifespan or (kid not in self._keys and age > self.cooldown)

    def _refresh(self) -> None:
        import jwt  # PyJWT is imported when auth is used, not at every start

        self._fetched_at = time.monotonic()
        try:
            url = self.jwks_url or self._discover()
            key_set = jwt.PyJWKSet.from_dict(_fetch_json(url, self.timeout))
        except Exception as exc:  # network, JSON, no usable key: keep what we had, refuse unknown keys
            log.warning("could not fetch the token issuer's signing keys: %s", type(exc).__name__)
            return
        keys: dict[str | None, jwt.PyJWK] = {key.key_id: key for key in key_set.keys}
        if len(key_set.keys) == 1:
            keys[None] = key_set.keys[0]  # tokens without `kid` are signed with the only key
        self._keys = keys

    def _discover(self) -> str:
        configuration = _fetch_json(self.issuer.rstrip("/") + "/.well-known/openid-configuration", self.timeout)
        if configuration.get("issuer") != self.issuer:
            raise ValueError("the discovery document names another issuer")
        jwks_uri = configuration.get("jwks_uri")
        if not isinstance(jwks_uri, str) or url_problem("jwks_uri", jwks_uri):
            raise ValueError("the discovery document has no usable jwks_uri")
        self.jwks_url = jwks_uri
        return jwks_uri


def _listed(value: Any) -> list[str]:
    """A claim that is a space-separated string or a list of strings, as a list."""
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


class JwtVerifier:
    """The MCP SDK's `TokenVerifier` for JWT access tokens (RFC 9068 and the common issuer variants).

    A client sends the same token with every request until it expires: a token that verified is remembered
    (by its whole text, signature included) and trusted again for REVERIFY_SECONDS at most, never past its
    expiry, so the signature is checked about once per token and 5 minutes instead of once per request.
    """

    def __init__(
        self, keys: SigningKeys, *, audiences: Iterable[str], client_ids: Iterable[str] = (), resource: str
    ) -> None:
        self.keys = keys
        self.audiences = frozenset(audiences)
        self.client_ids = frozenset(client_ids)
        self.resource = resource
        self._verified: OrderedDict[str, tuple[float, AccessToken]] = OrderedDict()

    async def verify_token(self, token: str) -> AccessToken | None:
        remembered = self._verified.get(token)
        if remembered is not None and time.time() < remembered[0]:
            return remembered[1]
        access = await self._verify(token)
        if access is not None:
            self._remember(token, access)
        return access

    def _remember(self, token: str, access: AccessToken) -> None:
        expiry = access.expires_at or 0
        self._verified[token] = (min(expiry, time.time() + REVERIFY_SECONDS), access)
        self._verified.move_to_end(token)
        while len(self._verified) > VERIFIED_TOKENS:
            self._verified.popitem(last=False)

    async def _verify(self, token: str) -> AccessToken | None:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return self._refused("not a JWT")
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            return self._refused("algorithm not allowed")
        key = await self.keys.get(header.get("kid"))
        if key is None:
            return self._refused("unknown signing key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                issuer=self.keys.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            return self._refused(type(exc).__name__)
        return self._access_token(token, claims)

    def _access_token(self, token: str, claims: dict[str, Any]) -> AccessToken | None:
        if int(claims["exp"]) <= time.time():
            return self._refused("expired")  # the clock-skew leeway is for nbf/iat only
        if claims.get("token_use", "access") != "access":
            return self._refused("not an access token")  # Cognito ID tokens carry the client ID as `aud`
        client_id = next(
            (claims[c] for c in ("client_id", "azp", "appid", "cid") if isinstance(claims.get(c), str)), None
        )
        audiences = _listed(claims.get("aud"))
        if audiences:
            if not self.audiences.intersection(audiences):
                return self._refused("issued for another audience")
        elif client_id is None or client_id not in self.client_ids:
            return self._refused("no audience")
        if self.client_ids and client_id not in self.client_ids:
            return self._refused("client not accepted")
        scopes = _listed(claims.get("scope")) or _listed(claims.get("scp"))
        subject = claims.get("sub") if isinstance(claims.get("sub"), str) else None
        return AccessToken(
            token=token,
            client_id=client_id or subject or "unknown",
            scopes=scopes,
            expires_at=int(claims["exp"]),
            resource=self.resource,
            subject=subject,
            claims={"iss": claims["iss"]},  # the SDK binds sessions to (client, issuer, subject)
        )

    @staticmethod
    def _refused(reason: str) -> None:
        log.info("bearer token refused: %s", reason)
        return None


def scope_names(settings: Settings) -> dict[Capability, str]:
    return {
        Capability.READ: settings.auth_read_scope,
        Capability.WRITE: settings.auth_write_scope,
        Capability.DELETE: settings.auth_delete_scope,
    }


def resource_server(settings: Settings) -> tuple[JwtVerifier, AuthSettings]:
    """The token verifier and the SDK's auth settings for `settings` (auth enabled): every request to /mcp
    needs a valid token with the read scope; the write and delete scopes unlock tools per caller."""
    assert settings.auth_issuer_url is not None
    resource = settings.resource_url
    verifier = JwtVerifier(
        SigningKeys(settings.auth_issuer_url, settings.auth_jwks_url),
        audiences=settings.auth_audiences or (resource,),
        client_ids=settings.auth_client_ids,
        resource=resource,
    )
    auth = AuthSettings(
        issuer_url=AnyHttpUrl(settings.auth_issuer_url),
        resource_server_url=AnyHttpUrl(resource),
        required_scopes=[settings.auth_read_scope],
        validate_token_resource=False,  # JwtVerifier checks `aud` (or `client_id`) itself
    )
    return verifier, auth
