"""What every benchmark prints about where it ran: the CPU's name, the machine line and the
load average (the benchmarks import this from their own folder)."""
from __future__ import annotations

import os
import platform


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo), else what ``platform`` knows."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """``cpu name, N cores, Python X.Y.Z``."""
    return f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, e.g. ``2.70 1.85 0.90``."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
