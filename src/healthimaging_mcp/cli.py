"""`healthimaging-mcp`: the MCP server (default), `demo`, and the `local` service commands."""

from __future__ import annotations

import argparse
import logging
import sys

from . import __version__
from .local.cli import add_local_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="healthimaging-mcp",
        description="MCP server for AWS HealthImaging. Without a command it serves MCP over stdio.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING (default) or ERROR; logs go to stderr")
    commands = parser.add_subparsers(dest="command")
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    result: int = handler(args)
    return result
