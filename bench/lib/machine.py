"""What machine a benchmark ran on, for the results file and the README."""

from __future__ import annotations

import os
import platform
import re
import subprocess


def _first(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        return out.splitlines()[0] if out else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def describe() -> dict:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
            cpu = m.group(1) if m else ""
    except OSError:
        pass
    mem_gib = 0.0
    try:
        with open("/proc/meminfo") as f:
            m = re.search(r"^MemTotal:\s+(\d+) kB", f.read(), re.M)
            mem_gib = round(int(m.group(1)) / 1024 / 1024, 1) if m else 0.0
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "kernel": platform.release(),
        "os": _first(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "swift": _first(["swift", "--version"]),
        "redis": _first(["redis-server", "--version"]),
        "nginx": _first(["sh", "-c", "nginx -v 2>&1"]),
        "wrk": _first(["sh", "-c", "wrk -v 2>&1"]),
        "h2load": _first(["sh", "-c", "h2load --version 2>&1"]),
    }


def peak_rss_mib(pid: int | None) -> float | None:
    """VmHWM (peak resident set) of a running process, in MiB."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            m = re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M)
            return round(int(m.group(1)) / 1024, 1) if m else None
    except OSError:
        return None
