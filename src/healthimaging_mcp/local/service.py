"""Run the local HealthImaging service on a real HTTP port, in-process (tests, `--local`) or as a command."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
import uvicorn
from botocore.config import Config

from .backend import LocalBackend
from .config import LocalConfig, default_data_dir
from .http.app import LocalHealthImagingApp
from .http.auth import Authenticator
from .http.limits import AWS_RATES, FaultInjector, Throttle
from .imports.jobs import S3ClientFactory, default_s3_client

log = logging.getLogger(__name__)


class LocalService:
    """The service in a background thread; `endpoint` is its URL once `start()` returns."""

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        credentials: dict[str, str] | None = None,
        throttle: bool = False,
        s3_client: S3ClientFactory = default_s3_client,
        write_seconds: float = 0.0,
    ) -> None:
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self.host, self.port = host, port
        self.credentials = credentials
        self.backend = LocalBackend(LocalConfig(self.data_dir, write_seconds=write_seconds), s3_client)
        self.faults = FaultInjector()
        self.app = LocalHealthImagingApp(
            self.backend,
            Authenticator(credentials),
            throttle=Throttle(dict(AWS_RATES) if throttle else {}),
            faults=self.faults,
            extra_routes=self.backend.dicomweb,
        )
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> LocalService:
        config = uvicorn.Config(
            self.app, host=self.host, port=self.port, log_level="warning", lifespan="off", access_log=False
        )
        self._server = server = uvicorn.Server(config)
        self._thread = threading.Thread(target=server.run, name="healthimaging-local", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the local service could not listen on {self.host}:{self.port}")
            time.sleep(0.005)
        self.port = server.servers[0].sockets[0].getsockname()[1]
        log.info("local HealthImaging service listening on %s (data in %s)", self.endpoint, self.data_dir)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self.backend.close()

    def client(self, region: str = "us-east-1", **config: Any) -> Any:
        """A boto3 medical-imaging client pointed at this service (host-prefix injection off), signing with the
        service's own key pair when it verifies signatures."""
        key, secret = next(iter(self.credentials.items())) if self.credentials else ("local", "local")
        return boto3.session.Session().client(
            "medical-imaging",
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=config.pop("aws_access_key_id", key),
            aws_secret_access_key=config.pop("aws_secret_access_key", secret),
            config=Config(inject_host_prefix=False, **config),
        )

    def __enter__(self) -> LocalService:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
