"""One line describing the machine and library versions, printed above every run."""

from __future__ import annotations

import os
import platform
import resource
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

_RUSAGE = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
PACKAGES = ("healthimaging-mcp", "boto3", "botocore", "uvicorn", "imagecodecs", "numpy", "pydicom", "mcp")


def environment() -> dict[str, Any]:
    versions: dict[str, str] = {}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "absent"
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "versions": versions,
    }


def describe(env: dict[str, Any]) -> str:
    packages = ", ".join(f"{name} {v}" for name, v in env["versions"].items())
    return f"Python {env['python']} on {env['platform']} ({env['machine']}, {env['cpus']} CPUs); {packages}"


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds used so far by the whole machine (None off Linux) and by this process and its children."""

    machine: float | None
    own: float


def cpu_snapshot() -> CpuSnapshot:
    own = sum(getattr(resource.getrusage(who), f) for who in _RUSAGE for f in ("ru_utime", "ru_stime"))
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return CpuSnapshot(None, own)
    busy = sum(fields[i] for i in (0, 1, 2, 5, 6, 7) if i < len(fields))  # user nice system irq softirq steal
    return CpuSnapshot(busy / os.sysconf("SC_CLK_TCK"), own)


def foreign_load(before: CpuSnapshot, after: CpuSnapshot, seconds: float) -> float | None:
    """Share of the machine's CPUs other processes used between two snapshots: noise in the figures."""
    if before.machine is None or after.machine is None or seconds <= 0:
        return None
    foreign = (after.machine - before.machine) - (after.own - before.own)
    return max(0.0, foreign) / (seconds * (os.cpu_count() or 1))
