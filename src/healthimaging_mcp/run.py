"""Run the MCP server on its transport (stdio by default, or streamable HTTP), against AWS or `--local`."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import partial
from typing import TYPE_CHECKING

from .settings import Settings

if TYPE_CHECKING:
    from .deploy.telemetry import Telemetry
    from .local.samples.seeding import SeedingProgress
    from .local.service import LocalService
    from .runtime import Runtime

log = logging.getLogger(__name__)


@contextmanager
def local_runtime(settings: Settings, telemetry: Telemetry | None = None) -> Iterator[Runtime]:
    """Start the embedded local service, seed the sample data in the background, and yield the Runtime for it.

    The service verifies SigV4 signatures against a key pair made for this process, so no other process can use
    its port (read-only mode stays read-only). Calls wait for the sample data, at most
    `local_seed_wait_seconds` after start; later they say how far loading is instead of answering "nothing".
    """
    from .local.samples.seeding import SeedingProgress
    from .local.service import LocalService
    from .runtime import Runtime

    assert settings.local_data_dir is not None
    key_pair = (f"LOCAL{secrets.token_hex(8).upper()}", secrets.token_urlsafe(32))
    service = LocalService(
        settings.local_data_dir, credentials=dict([key_pair]), write_seconds=settings.local_write_seconds
    ).start()
    progress = SeedingProgress()
    seeding = threading.Thread(target=_seed, args=(service, progress), name="seed-samples", daemon=True)
    seeding.start()  # the server answers at once; the sample image sets appear within seconds
    deadline = time.monotonic() + settings.local_seed_wait_seconds
    effective = settings.with_overrides(
        endpoint_url=service.endpoint,
        local_credentials=key_pair,
        region=settings.region or "us-east-1",
        write_rate_per_second=0,
        output_dir=settings.output_dir or settings.local_data_dir / "exports",
    )
    try:
        yield Runtime(effective, ready=partial(_await_samples, progress, deadline), telemetry=telemetry)
    finally:
        seeding.join(timeout=60)
        service.stop()


def _seed(service: LocalService, progress: SeedingProgress) -> None:
    from .local.samples.seeding import seed_samples

    try:
        log.info("%s", seed_samples(service.backend, progress).describe())
    except Exception:
        log.exception("seeding the sample data failed")
    finally:
        progress.done.set()


def _await_samples(progress: SeedingProgress, deadline: float) -> None:
    from .errors import ErrorType, HealthImagingError

    if progress.done.wait(max(0.0, deadline - time.monotonic())):
        return
    raise HealthImagingError(
        ErrorType.SERVICE,
        f"The local sample data is still loading ({progress.describe()}); answers now would be incomplete.",
        next_step="Call again in a few seconds.",
    )


def serve(settings: Settings) -> int:
    from .deploy.telemetry import start_exporting
    from .runtime import Runtime
    from .server import build_server

    telemetry, exporting = start_exporting()
    runtime_context = (
        local_runtime(settings, telemetry) if settings.local else nullcontext(Runtime(settings, telemetry=telemetry))
    )
    try:
        with runtime_context as runtime:
            mcp = build_server(runtime.settings, runtime)
            if settings.transport == "http":
                from .http_security import serve_http

                serve_http(mcp, runtime.settings)
            else:
                mcp.run("stdio")
    finally:
        if exporting is not None:
            exporting.shutdown()  # flush what is still buffered
    return 0
