"""Every benchmark suite, by name. A suite is a module with `run(options: Options) -> list[Table]`.

To add one: write `benchmarks/suite_<name>.py` with that `run` function and add a line below. Modules are
imported only when their suite runs, so a suite's heavy imports never slow down the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from .harness import Options, Table

Suite = Callable[[Options], list[Table]]

SUITES: dict[str, str] = {
    "local-service": "benchmarks.suite_local_service",
    "mcp": "benchmarks.suite_mcp",
    "imaging": "benchmarks.suite_imaging",
    "volumes": "benchmarks.suite_volumes",
    "dicomweb": "benchmarks.suite_dicomweb",
    "workflows": "benchmarks.suite_workflows",
    "deploy": "benchmarks.suite_deploy",  # last: it installs a process-wide OpenTelemetry tracer provider
}


def load_suite(name: str) -> Suite:
    """The `run` function of the suite registered as `name`."""
    module = importlib.import_module(SUITES[name])
    run: Suite = module.run
    return run
