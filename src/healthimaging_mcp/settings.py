"""One frozen Settings object, from command-line flags over environment variables over defaults."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from .http_security import INSECURE_BIND_FLAG, WILDCARD_HOSTS, is_loopback

ENV_PREFIX = "HEALTHIMAGING_MCP_"
DATASTORE_ID = re.compile(r"^[0-9a-z]{32}$")
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _names(value: str | None) -> tuple[str, ...]:
    """A comma-separated list."""
    return tuple(item.strip() for item in (value or "").split(",") if item.strip())


def url_problem(flag: str, url: str) -> str | None:
    """Why `url` cannot be an issuer/keys/resource URL (https, or http on loopback), None when it can."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return None
    return f"{flag} {url!r} must be an https:// URL (http:// only on loopback)"


@dataclass(frozen=True)
class Settings:
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    datastore_id: str | None = None
    allow_write: bool = False
    transport: Literal["stdio", "http"] = "stdio"
    host: str = "127.0.0.1"
    port: int = 8000
    allowed_hosts: tuple[str, ...] = ()  # Host headers accepted over HTTP besides loopback (e.g. behind a proxy)
    insecure_bind_without_auth: bool = False  # the explicit opt-out for serving HTTP beyond loopback
    log_level: str = "WARNING"
    local_data_dir: Path | None = None  # set when serving the embedded local service (--local)
    local_seed_wait_seconds: float = 30.0  # --local: how long after start calls wait for the sample data
    local_credentials: tuple[str, str] | None = field(default=None, repr=False)  # --local: this process's key pair
    local_write_seconds: float = 0.0  # --local: how long image set writes stay LOCKED (as HealthImaging's do)
    redact_phi: bool = False
    output_dir: Path | None = None  # files are saved only inside this folder
    input_dir: Path | None = None  # upload_dicom_files reads only inside this folder (unset: uploads are off)
    max_output_chars: int = 8000
    write_rate_per_second: float = 0.25  # HealthImaging's limit for update/copy/delete; 0 disables pacing
    metadata_cache_entries: int = 32
    metadata_cache_ttl_seconds: float = 300.0
    volume_cache_mb: int = 512  # series volumes (planes, measurements) kept in memory; a larger series is refused
    # OAuth resource server (HTTP): set the issuer to require bearer tokens (deploy/auth.py)
    auth_issuer_url: str | None = None
    auth_audiences: tuple[str, ...] = ()  # accepted `aud` values; default: the resource URL
    auth_client_ids: tuple[str, ...] = ()  # accepted `client_id`s (required for issuers without `aud`: Cognito)
    auth_jwks_url: str | None = None  # default: found through the issuer's OpenID discovery document
    auth_resource_url: str | None = None  # this server's public /mcp URL; default http://HOST:PORT/mcp
    auth_read_scope: str = "healthimaging:read"
    auth_write_scope: str = "healthimaging:write"
    auth_delete_scope: str = "healthimaging:delete"
    stateless_http: bool = False  # handshake-era clients too get no session (replicas without sticky sessions)
    state_key: str | None = field(default=None, repr=False)  # seals request state and plan handles; shared by replicas
    audit_log: str | None = None  # "stderr" or a file path: one JSON line per tool call (deploy/audit.py)

    @property
    def local(self) -> bool:
        return self.local_data_dir is not None

    @property
    def auth_enabled(self) -> bool:
        return self.auth_issuer_url is not None

    @property
    def resource_url(self) -> str:
        """The URL clients reach the MCP endpoint at: the resource tokens are issued for (RFC 8707/9728)."""
        if self.auth_resource_url:
            return self.auth_resource_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/mcp"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from HEALTHIMAGING_MCP_* variables; AWS_REGION / AWS_PROFILE as boto3 users expect."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(ENV_PREFIX + name)
            return value if value not in (None, "") else None

        output_dir = get("OUTPUT_DIR")
        input_dir = get("INPUT_DIR")
        local_dir = get("LOCAL_DATA_DIR")
        return cls(
            region=get("REGION") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            profile=get("PROFILE") or env.get("AWS_PROFILE") or None,
            endpoint_url=get("ENDPOINT_URL"),
            datastore_id=get("DATASTORE_ID"),
            allow_write=_flag(get("ALLOW_WRITE")),
            transport="http" if get("TRANSPORT") == "http" else "stdio",
            host=get("HOST") or "127.0.0.1",
            port=int(get("PORT") or 8000),
            allowed_hosts=tuple(h.strip() for h in (get("ALLOWED_HOST") or "").split(",") if h.strip()),
            insecure_bind_without_auth=_flag(get("INSECURE_BIND_WITHOUT_AUTH")),
            log_level=(get("LOG_LEVEL") or "WARNING").upper(),
            local_data_dir=Path(local_dir).expanduser() if local_dir else None,
            local_seed_wait_seconds=float(get("LOCAL_SEED_WAIT") or 30.0),
            local_write_seconds=float(get("LOCAL_WRITE_SECONDS") or 0.0),
            redact_phi=_flag(get("REDACT_PHI")),
            output_dir=Path(output_dir).expanduser() if output_dir else None,
            input_dir=Path(input_dir).expanduser() if input_dir else None,
            max_output_chars=int(get("MAX_OUTPUT_CHARS") or 8000),
            write_rate_per_second=float(get("WRITE_RATE") or 0.25),
            volume_cache_mb=int(get("VOLUME_CACHE_MB") or 512),
            auth_issuer_url=get("AUTH_ISSUER_URL"),
            auth_audiences=_names(get("AUTH_AUDIENCE")),
            auth_client_ids=_names(get("AUTH_CLIENT_ID")),
            auth_jwks_url=get("AUTH_JWKS_URL"),
            auth_resource_url=get("AUTH_RESOURCE_URL"),
            auth_read_scope=get("AUTH_READ_SCOPE") or "healthimaging:read",
            auth_write_scope=get("AUTH_WRITE_SCOPE") or "healthimaging:write",
            auth_delete_scope=get("AUTH_DELETE_SCOPE") or "healthimaging:delete",
            stateless_http=_flag(get("STATELESS_HTTP")),
            state_key=get("STATE_KEY"),
            audit_log=get("AUDIT_LOG"),
        )

    def validate(self) -> list[str]:
        """Problems a person must fix before the server can start (empty when fine)."""
        problems = []
        if self.datastore_id and not DATASTORE_ID.match(self.datastore_id):
            problems.append(f"--datastore-id {self.datastore_id!r} is not 32 lowercase letters/digits")
        if not 1 <= self.port <= 65535:
            problems.append(f"--port {self.port} is out of range")
        exposed = self.transport == "http" and not is_loopback(self.host)
        if exposed and not self.auth_enabled and not self.insecure_bind_without_auth:
            problems.append(
                f"refusing --host {self.host}: no authentication is configured, so every tool (patient data "
                "included) would be served to anyone who can reach the port. Configure the token issuer "
                "(--auth-issuer-url, see README 'Serving a team over HTTP'), serve on 127.0.0.1 (the default), or pass "
                f"{INSECURE_BIND_FLAG} if everyone who can reach the port may use this server"
            )
        problems += self._auth_problems()
        if self.state_key is not None and len(self.state_key) < 32:
            problems.append("HEALTHIMAGING_MCP_STATE_KEY must be at least 32 characters (e.g. openssl rand -hex 32)")
        if self.local_seed_wait_seconds < 0:
            problems.append("HEALTHIMAGING_MCP_LOCAL_SEED_WAIT must be 0 or more seconds")
        if self.max_output_chars < 1000:
            problems.append("--max-output-chars must be at least 1000")
        if self.volume_cache_mb < 1:
            problems.append("--volume-cache-mb must be at least 1")
        if self.log_level not in get_args(LogLevel):
            problems.append(f"--log-level {self.log_level!r} is not DEBUG, INFO, WARNING or ERROR")
        return problems

    def _auth_problems(self) -> list[str]:
        auth_flags = (self.auth_audiences, self.auth_client_ids, self.auth_jwks_url, self.auth_resource_url)
        if not self.auth_enabled:
            return ["--auth-* flags need --auth-issuer-url"] if any(auth_flags) else []
        if self.transport != "http":
            return ["--auth-issuer-url applies to --transport http (stdio callers are local)"]
        urls = [("--auth-issuer-url", self.auth_issuer_url), ("--auth-jwks-url", self.auth_jwks_url)]
        urls.append(("--auth-resource-url", self.resource_url))
        problems = [p for flag, url in urls if url and (p := url_problem(flag, url))]
        if self.host in WILDCARD_HOSTS and not self.auth_resource_url:
            problems.append(f"--host {self.host or '(any)'} needs --auth-resource-url: the URL clients use for /mcp")
        scopes = (self.auth_read_scope, self.auth_write_scope, self.auth_delete_scope)
        if len(set(scopes)) != 3 or not all(s.strip() and " " not in s for s in scopes):
            problems.append("--auth-*-scope names must be three different scope names without spaces")
        return problems
