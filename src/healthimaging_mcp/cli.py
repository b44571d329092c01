"""`healthimaging-mcp`: the MCP server (default), `demo`, and the `local` service commands."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import __version__
from .local.cli import add_local_commands
from .local.config import default_data_dir
from .settings import Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="healthimaging-mcp",
        description="MCP server for AWS HealthImaging. Without a command it serves MCP (stdio by default). "
        "Every flag also has an environment variable HEALTHIMAGING_MCP_<FLAG>.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    aws = parser.add_argument_group("AWS")
    aws.add_argument("--region", help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, or the profile's)")
    aws.add_argument("--profile", help="AWS profile (default: AWS_PROFILE)")
    aws.add_argument("--endpoint-url", help="a HealthImaging-compatible endpoint instead of AWS")
    aws.add_argument("--datastore-id", help="default datastore for tools called without datastore_id")
    behaviour = parser.add_argument_group("behaviour")
    behaviour.add_argument(
        "--allow-write",
        action="store_true",
        default=None,
        help="offer tools that change or delete data (off: read-only)",
    )
    behaviour.add_argument(
        "--redact-phi",
        action="store_true",
        default=None,
        help="replace patient names, IDs, birth dates… by stable pseudonyms in every answer",
    )
    behaviour.add_argument("--output-dir", type=Path, help="the only folder tools may save files into")
    behaviour.add_argument("--input-dir", type=Path, help="the only folder DICOM files may be uploaded from")
    behaviour.add_argument("--max-output-chars", type=int, help="output budget of metadata answers (default 8000)")
    behaviour.add_argument(
        "--volume-cache-mb",
        type=int,
        help="memory for series volumes kept for planes and measurements (default 512); larger series are refused",
    )
    behaviour.add_argument(
        "--local",
        nargs="?",
        const=default_data_dir(),
        type=Path,
        metavar="DATA_DIR",
        help="serve the embedded local HealthImaging service (seeded with sample data) instead of AWS",
    )
    transport = parser.add_argument_group("transport")
    transport.add_argument("--transport", choices=["stdio", "http"], help="stdio (default) or streamable HTTP")
    transport.add_argument("--host", help="HTTP interface (default 127.0.0.1)")
    transport.add_argument("--port", type=int, help="HTTP port (default 8000)")
    transport.add_argument(
        "--allowed-host",
        action="append",
        metavar="HOST[:PORT]",
        help="Host header accepted over HTTP, e.g. behind a proxy (repeatable); loopback names are accepted "
        "from this machine only",
    )
    transport.add_argument(
        "--insecure-bind-without-auth",
        action="store_true",
        default=None,
        help="allow --host beyond loopback although nothing authenticates HTTP clients: anyone who can reach the "
        "port can use every tool and read patient data",
    )
    transport.add_argument(
        "--stateless-http",
        action="store_true",
        default=None,
        help="no HTTP sessions for handshake-era clients either (replicas without sticky sessions)",
    )
    auth = parser.add_argument_group("authentication (HTTP; see README 'Serving a team over HTTP')")
    auth.add_argument("--auth-issuer-url", metavar="URL", help="require bearer tokens from this OAuth issuer")
    auth.add_argument(
        "--auth-audience", action="append", metavar="AUD", help="accepted `aud` (repeatable; default: the resource URL)"
    )
    auth.add_argument(
        "--auth-client-id",
        action="append",
        metavar="ID",
        help="accepted client IDs (repeatable); needed for issuers whose access tokens have no `aud` (Cognito)",
    )
    auth.add_argument("--auth-jwks-url", metavar="URL", help="the issuer's keys (default: from OpenID discovery)")
    auth.add_argument("--auth-resource-url", metavar="URL", help="this server's public MCP URL (https://…/mcp)")
    for capability in ("read", "write", "delete"):
        auth.add_argument(
            f"--auth-{capability}-scope",
            metavar="SCOPE",
            help=f"scope for {capability} tools (healthimaging:{capability})",
        )
    parser.add_argument("--audit-log", metavar="stderr|PATH", help="one JSON line per tool call, to stderr or a file")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING (default) or ERROR; logs go to stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser("demo", help="run an MCP client session against --local and print a transcript")
    demo.add_argument("--data-dir", type=Path, default=None, help="local service data (default: a temporary folder)")
    demo.set_defaults(handler=_demo)
    health = commands.add_parser("healthcheck", help="exit 0 when the HTTP server on --port answers its health check")
    health.set_defaults(handler=_healthcheck)
    add_local_commands(commands)
    return parser


def configure_logging(level: str | None) -> None:
    """Logs always go to stderr: in stdio mode stdout carries only the protocol."""
    logging.basicConfig(
        level=(level or "WARNING").upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer"):  # their DEBUG output can include request bodies
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def settings_from(args: argparse.Namespace) -> Settings:
    base = Settings.from_env()
    overrides = {
        "region": args.region,
        "profile": args.profile,
        "endpoint_url": args.endpoint_url,
        "datastore_id": args.datastore_id,
        "allow_write": args.allow_write,
        "redact_phi": args.redact_phi,
        "output_dir": args.output_dir,
        "input_dir": args.input_dir,
        "max_output_chars": args.max_output_chars,
        "volume_cache_mb": args.volume_cache_mb,
        "local_data_dir": args.local,
        "transport": args.transport,
        "host": args.host,
        "port": args.port,
        "allowed_hosts": tuple(args.allowed_host) if args.allowed_host else None,
        "insecure_bind_without_auth": args.insecure_bind_without_auth,
        "log_level": args.log_level.upper() if args.log_level else None,
        "stateless_http": args.stateless_http,
        "auth_issuer_url": args.auth_issuer_url,
        "auth_audiences": tuple(args.auth_audience) if args.auth_audience else None,
        "auth_client_ids": tuple(args.auth_client_id) if args.auth_client_id else None,
        "auth_jwks_url": args.auth_jwks_url,
        "auth_resource_url": args.auth_resource_url,
        "auth_read_scope": args.auth_read_scope,
        "auth_write_scope": args.auth_write_scope,
        "auth_delete_scope": args.auth_delete_scope,
        "audit_log": args.audit_log,
    }
    return base.with_overrides(**{k: v for k, v in overrides.items() if v is not None})


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = settings_from(args)
    configure_logging(settings.log_level)
    handler = getattr(args, "handler", None)
    if handler is not None:
        result: int = handler(args)
        return result
    problems = settings.validate()
    if problems:
        for problem in problems:
            print(f"healthimaging-mcp: {problem}", file=sys.stderr)
        return 2
    from .http_security import exposure_warning

    warning = exposure_warning(settings)
    if warning:
        print(f"healthimaging-mcp: WARNING: {warning}", file=sys.stderr, flush=True)
    from .run import serve

    return serve(settings)


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args.data_dir)


def _healthcheck(args: argparse.Namespace) -> int:
    """GET /healthz on this machine's --port (the container's HEALTHCHECK; a slim image has no curl)."""
    import urllib.request

    from .http_security import HEALTH_PATH

    url = f"http://127.0.0.1:{settings_from(args).port}{HEALTH_PATH}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            healthy = response.status == 200
    except OSError as exc:
        print(f"healthimaging-mcp: {url}: {exc}", file=sys.stderr)
        return 1
    return 0 if healthy else 1
