"""One frozen Settings object, from command-line flags over environment variables over defaults."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args

from .http_security import INSECURE_BIND_FLAG, is_loopback

ENV_PREFIX = "HEALTHIMAGING_MCP_"
DATASTORE_ID = re.compile(r"^[0-9a-z]{32}$")
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


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
    max_output_chars: int = 8000
    write_rate_per_second: float = 0.25  # HealthImaging's limit for update/copy/delete; 0 disables pacing
    plan_key: str | None = field(default=None, repr=False)  # seals plan handles; the same on every replica
    metadata_cache_entries: int = 32
    metadata_cache_ttl_seconds: float = 300.0
    volume_cache_mb: int = 512  # series volumes (planes, measurements) kept in memory; a larger series is refused

    @property
    def local(self) -> bool:
        return self.local_data_dir is not None

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
            max_output_chars=int(get("MAX_OUTPUT_CHARS") or 8000),
            write_rate_per_second=float(get("WRITE_RATE") or 0.25),
            volume_cache_mb=int(get("VOLUME_CACHE_MB") or 512),
            plan_key=get("PLAN_KEY"),
        )

    def validate(self) -> list[str]:
        """Problems a person must fix before the server can start (empty when fine)."""
        problems = []
        if self.datastore_id and not DATASTORE_ID.match(self.datastore_id):
            problems.append(f"--datastore-id {self.datastore_id!r} is not 32 lowercase letters/digits")
        if not 1 <= self.port <= 65535:
            problems.append(f"--port {self.port} is out of range")
        if self.transport == "http" and not is_loopback(self.host) and not self.insecure_bind_without_auth:
            problems.append(
                f"refusing --host {self.host}: over HTTP this server has no authentication yet, so every tool "
                "(patient data included) would be served to anyone who can reach the port. Serve on 127.0.0.1 "
                "(the default; put an authenticating reverse proxy in front for remote clients), or pass "
                f"{INSECURE_BIND_FLAG} if everyone who can reach the port may use this server"
            )
        if self.local_seed_wait_seconds < 0:
            problems.append("HEALTHIMAGING_MCP_LOCAL_SEED_WAIT must be 0 or more seconds")
        if self.max_output_chars < 1000:
            problems.append("--max-output-chars must be at least 1000")
        if self.volume_cache_mb < 1:
            problems.append("--volume-cache-mb must be at least 1")
        if self.log_level not in get_args(LogLevel):
            problems.append(f"--log-level {self.log_level!r} is not DEBUG, INFO, WARNING or ERROR")
        return problems
