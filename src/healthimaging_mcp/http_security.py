"""Who may talk to the streamable HTTP transport: loopback binding, Host/Origin allow-lists, loopback peers.

Beyond loopback the server needs authentication (bearer tokens, `deploy.auth`) or an explicit opt-out. Whatever
the binding, the `Host`/`Origin` headers are checked (against DNS rebinding: a web page that makes a browser send
requests to this port). Loopback names (`127.0.0.1`, `localhost`, `::1`) are accepted only from loopback peers:
a client that reaches the port over the network cannot pass by claiming to be local.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.transport_security import TransportSecuritySettings
    from starlette.types import ASGIApp, Receive, Scope, Send

    from .settings import Settings

INSECURE_BIND_FLAG = "--insecure-bind-without-auth"
HEALTH_PATH = "/healthz"  # liveness, answered without a token
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def is_loopback(name: str | None) -> bool:
    """`localhost` or a loopback address (127.0.0.0/8, ::1, IPv4-mapped), brackets allowed; names are not resolved."""
    name = (name or "").strip().lower().removeprefix("[").removesuffix("]")
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def host_name(host_header: str | None) -> str:
    """The name part of a `Host` header: `[::1]:8000` -> `::1`, `example.org:443` -> `example.org`."""
    host = (host_header or "").strip()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _pattern(host: str) -> str:
    """An allow-list entry for a bound address: any port."""
    return f"[{host}]:*" if ":" in host else f"{host}:*"


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """DNS-rebinding protection, always on: the `--allowed-host` names (or else the bound address) plus loopback."""
    from mcp.server.transport_security import TransportSecuritySettings

    named = list(settings.allowed_hosts)
    if not named and settings.host not in WILDCARD_HOSTS:
        named.append(_pattern(settings.host))
    if settings.auth_resource_url:  # the public name clients are given (behind a load balancer, for instance)
        public = urlsplit(settings.auth_resource_url)
        named.append(public.netloc if public.port else f"{public.netloc}:*")
    hosts = list(dict.fromkeys([*named, *(f"{h}:*" for h in LOOPBACK_HOSTS)]))
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=hosts,
        allowed_origins=[f"{scheme}://{h}" for h in hosts for scheme in ("http", "https")],
    )


def exposure_warning(settings: Settings) -> str | None:
    """What to shout when HTTP is served beyond loopback without authentication (None when it is not)."""
    if settings.transport != "http" or is_loopback(settings.host) or settings.auth_enabled:
        return None
    hosts = ", ".join(transport_security(settings).allowed_hosts)
    return (
        f"serving HTTP on {settings.host}:{settings.port} WITHOUT AUTHENTICATION ({INSECURE_BIND_FLAG}): anyone "
        f"who can reach this port can use every tool and read patient data. Accepted Host headers: {hosts} "
        "(loopback ones from this machine only)."
    )


class LoopbackNamesFromLoopbackOnly:
    """ASGI wrapper: a non-loopback peer naming a loopback Host (421) or Origin (403) is refused.

    The peer is the TCP client, or the client named by `X-Forwarded-For` when a proxy on this machine forwarded
    the request (uvicorn trusts that header from loopback only).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self._refusal(scope)
            if refusal is not None:
                from starlette.responses import PlainTextResponse

                await PlainTextResponse(refusal[1], status_code=refusal[0])(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _refusal(scope: Scope) -> tuple[int, str] | None:
        from starlette.datastructures import Headers

        client = scope.get("client")
        if client and is_loopback(client[0]):
            return None
        headers = Headers(scope=scope)
        if is_loopback(host_name(headers.get("host"))):
            return 421, "Invalid Host header: loopback names are accepted from this machine only"
        origin = headers.get("origin")
        if origin and is_loopback(urlsplit(origin).hostname):
            return 403, "Invalid Origin header: loopback origins are accepted from this machine only"
        return None


def serve_http(mcp: MCPServer, settings: Settings) -> None:
    """Serve `mcp` over streamable HTTP at settings.host:port/mcp with the checks above."""
    import uvicorn

    app = mcp.streamable_http_app(
        transport_security=transport_security(settings), host=settings.host, stateless_http=settings.stateless_http
    )
    config = uvicorn.Config(
        LoopbackNamesFromLoopbackOnly(app), host=settings.host, port=settings.port, log_level=settings.log_level.lower()
    )
    uvicorn.Server(config).run()
