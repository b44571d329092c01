"""One boto3 client per (service, profile, region, endpoint), built once and shared by all tool calls."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, cast

import boto3
from botocore.config import Config
from botocore.credentials import Credentials

from .. import __version__
from ..settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_medical_imaging import HealthImagingClient
    from mypy_boto3_s3 import S3Client

POOL_SIZE = 32
Service = Literal["medical-imaging", "s3"]


class ClientFactory:
    """boto3 clients are thread-safe, Sessions are not: sessions are built under a lock, clients cached."""

    def __init__(self, settings: Settings, on_client: Callable[[Any], None] | None = None) -> None:
        self.settings = settings
        self.on_client = on_client  # called with each new client (telemetry registers its event handlers)
        self._clients: dict[tuple[str, str | None, str | None, str | None], HealthImagingClient | S3Client] = {}
        self._sessions: dict[Service, boto3.session.Session] = {}
        self._lock = threading.Lock()

    def _config(self, service: str) -> Config:
        return Config(
            retries={"mode": "adaptive", "max_attempts": 6},
            max_pool_connections=POOL_SIZE,
            connect_timeout=10,
            read_timeout=60,
            user_agent_extra=f"healthimaging-mcp/{__version__}",
            # A custom endpoint (the local service, a proxy) serves the runtime- routes on the same host.
            inject_host_prefix=not (service == "medical-imaging" and self.settings.endpoint_url),
        )

    def medical_imaging(self) -> HealthImagingClient:
        return cast("HealthImagingClient", self._client("medical-imaging"))

    def s3(self) -> S3Client:
        return cast("S3Client", self._client("s3"))

    def _client(self, service: Service) -> HealthImagingClient | S3Client:
        region = self.settings.region
        endpoint = self.settings.endpoint_url if service == "medical-imaging" else None
        key = (service, self.settings.profile, region, endpoint)
        client = self._clients.get(key)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                session = self._session(service)
                client = session.client(
                    service,
                    region_name=region or session.region_name,
                    endpoint_url=endpoint,
                    config=self._config(service),
                )
                if self.on_client is not None:
                    self.on_client(client)
                self._clients[key] = client
        return client

    def _session(self, service: Service) -> boto3.session.Session:
        """The session of `service`'s clients (call under the lock); one per service."""
        session = self._sessions.get(service)
        if session is None:
            if self.settings.local_credentials and service == "medical-imaging":  # the embedded service's key
                access_key, secret = self.settings.local_credentials
                session = boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key=secret)
            elif self.settings.local:  # S3 next to the embedded service: no AWS profile involved
                session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local")
            else:
                session = boto3.session.Session(profile_name=self.settings.profile)
            self._sessions[service] = session
        return session

    def signing(self) -> tuple[Credentials | None, str | None]:
        """The credentials (refreshed by botocore when temporary) and region HealthImaging's clients sign with,
        for requests no SDK client makes (DICOMweb)."""
        with self._lock:
            session = self._session("medical-imaging")
            return session.get_credentials(), self.settings.region or session.region_name

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
