"""Run the MCP server: stdio (default) or streamable HTTP, against AWS or the embedded local service."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .settings import Settings

log = logging.getLogger(__name__)


@contextmanager
def local_backend(settings: Settings) -> Iterator[Settings]:
    """Start the embedded local service (seeding sample data on first use) and point the settings at it."""
    from .local.seeding import seed_samples
    from .local.service import LocalService

    assert settings.local_data_dir is not None
    service = LocalService(settings.local_data_dir).start()
    seeding = threading.Thread(target=_seed, args=(service, seed_samples), name="seed-samples", daemon=True)
    seeding.start()  # the server answers at once; the sample image sets appear within seconds
    try:
        yield settings.with_overrides(
            endpoint_url=service.endpoint,
            region=settings.region or "us-east-1",
            write_rate_per_second=0,
            output_dir=settings.output_dir or settings.local_data_dir / "exports",
        )
    finally:
        seeding.join(timeout=60)
        service.stop()


def _seed(service: object, seed: object) -> None:
    try:
        result = seed(service.backend)  # type: ignore[attr-defined, operator]
        log.info("%s", result.describe())
    except Exception:
        log.exception("seeding the sample data failed")


def serve(settings: Settings, allowed_hosts: list[str] | None = None) -> int:
    from .server import build_server

    with local_backend(settings) if settings.local else _unchanged(settings) as effective:
        mcp = build_server(effective)
        if effective.transport == "http":
            from mcp.server.transport_security import TransportSecuritySettings

            security = None
            if allowed_hosts:  # behind a proxy: its Host header, plus local access as before
                hosts = [*allowed_hosts, "127.0.0.1:*", "localhost:*", "[::1]:*"]
                security = TransportSecuritySettings(
                    enable_dns_rebinding_protection=True,
                    allowed_hosts=hosts,
                    allowed_origins=[f"{scheme}://{h}" for h in hosts for scheme in ("http", "https")],
                )
            mcp.run("streamable-http", host=effective.host, port=effective.port, transport_security=security)
        else:
            mcp.run("stdio")
    return 0


@contextmanager
def _unchanged(settings: Settings) -> Iterator[Settings]:
    yield settings
