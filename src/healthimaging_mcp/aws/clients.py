"""One boto3 client per (service, profile, region, endpoint), built once and shared by all tool calls."""

from __future__ import annotations

import threading
from typing import Any, cast

import boto3
from botocore.config import Config

from .. import __version__
from ..settings import Settings

POOL_SIZE = 32


class ClientFactory:
    """boto3 clients are thread-safe, Sessions are not: sessions are built under a lock, clients cached."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._clients: dict[tuple[str, str | None, str | None, str | None], Any] = {}
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

    def client(self, service: str = "medical-imaging", region: str | None = None) -> Any:
        region = region or self.settings.region
        endpoint = self.settings.endpoint_url if service == "medical-imaging" else None
        key = (service, self.settings.profile, region, endpoint)
        client = self._clients.get(key)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                if self.settings.local_credentials and service == "medical-imaging":  # the embedded service's key
                    access_key, secret = self.settings.local_credentials
                    session = boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key=secret)
                elif self.settings.local:  # S3 next to the embedded service: no AWS profile involved
                    session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local")
                else:
                    session = boto3.session.Session(profile_name=self.settings.profile)
                client = cast(Any, session).client(
                    service,
                    region_name=region or session.region_name,
                    endpoint_url=endpoint,
                    config=self._config(service),
                )
                self._clients[key] = client
        return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
