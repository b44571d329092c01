"""`python -m benchmarks [--suite NAME]... [--quick] [--json PATH]`: run suites, print one table per result."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .environment import cpu_snapshot, describe, environment, foreign_load
from .harness import Options
from .registry import SUITES, load_suite


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--suite",
        action="append",
        choices=sorted(SUITES),
        metavar="NAME",
        help=f"run only this suite (repeatable); one of: {', '.join(sorted(SUITES))}",
    )
    parser.add_argument("--quick", action="store_true", help="few iterations: a smoke test, not figures")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also save the raw results as JSON here")
    parser.add_argument("--list", action="store_true", help="list the suites and exit")
    return parser.parse_args(argv)


def isolate_from_local_aws_setup() -> None:
    """The suites talk to a loopback service: no named profile or HTTP proxy of this machine may interfere."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(name, None)
    loopback = "127.0.0.1,localhost"
    for name in ("NO_PROXY", "no_proxy"):
        os.environ[name] = f"{os.environ[name]},{loopback}" if os.environ.get(name) else loopback


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        print("\n".join(sorted(SUITES)))
        return 0
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    isolate_from_local_aws_setup()
    options = Options(quick=args.quick)
    env = environment()
    print(f"Environment: {describe(env)}" + (" — QUICK MODE, figures not representative" if args.quick else ""))
    report: dict[str, Any] = {"environment": env, "quick": args.quick, "suites": {}}
    for name in args.suite or list(SUITES):
        started, cpu_before = time.perf_counter(), cpu_snapshot()
        tables = load_suite(name)(options)
        seconds = time.perf_counter() - started
        foreign = foreign_load(cpu_before, cpu_snapshot(), seconds)
        noise = f"; other processes used {foreign:.0%} of the CPUs meanwhile" if foreign is not None else ""
        print(f"\n## Suite `{name}` ({seconds:.1f} s{noise})\n")
        print("\n\n".join(table.to_markdown() for table in tables), flush=True)
        tables_json = [table.to_dict() for table in tables]
        report["suites"][name] = {"seconds": seconds, "foreign_cpu_share": foreign, "tables": tables_json}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
        print(f"\nRaw results saved to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
