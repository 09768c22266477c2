"""Resident memory of each service process and of the gateway: at rest, and after some work.

    .venv/bin/python -m bench.memory            # on a bench stack of its own (bench.platform)

RSS is read from ``/proc/<pid>/status`` (VmRSS) of each process the stack started. The baseline
on the same machine is a bare Python interpreter and one that has imported nameko and eventlet
only: what every service pays before its own code. ``make bench`` reads the figures at rest
right after start, then again after the issuance and redemption benchmarks have run.

Target (issue 6): under 120 MB each.
"""

import subprocess
import sys
from pathlib import Path

import requests

from bench.platform import figure, heading, running_platform, verdict

TARGET_MB = 120.0
EMPTY_SERVICE = "import eventlet, nameko.containers, nameko.web.handlers, kombu, sqlalchemy, psycopg2"


def resident_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no VmRSS for process {pid}")


def interpreter_mb(code):
    """RSS of a fresh interpreter once it has run ``code`` (it says so, then waits)."""
    process = subprocess.Popen(
        [sys.executable, "-c", f"{code}; print('ready', flush=True); import time; time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        process.stdout.readline()
        return resident_mb(process.pid)
    finally:
        process.kill()
        process.wait()


def service_processes(stack):
    return [process for process in stack.processes
            if process.component.name != "smtp" and process.popen.poll() is None]


def warm_up(stack):
    """A little work for each process: its health, readiness and metrics pages twice."""
    for process in service_processes(stack):
        for page in ("/health", "/metrics", "/health", "/metrics"):
            requests.get(process.url + page, timeout=10)


def measure(stack, moment):
    """Print each process's RSS; True when every one is under the target."""
    heading(f"memory: resident set of each process, {moment}")
    largest = 0.0
    for process in service_processes(stack):
        megabytes = resident_mb(process.popen.pid)
        largest = max(largest, megabytes)
        figure(f"{process.component.name} (replica {process.replica})", f"{megabytes:.1f}",
               f"MB ({megabytes / baseline()['nameko']:.1f}x an empty nameko process)")
    return verdict(f"every process under {TARGET_MB:.0f} MB (largest {largest:.1f} MB)",
                   largest < TARGET_MB)


_BASELINE = {}


def baseline():
    """RSS of a bare interpreter and of one with nameko's stack imported, measured once."""
    if not _BASELINE:
        _BASELINE["python"] = interpreter_mb("pass")
        _BASELINE["nameko"] = interpreter_mb(EMPTY_SERVICE)
    return _BASELINE


def print_baseline():
    figure("baseline: bare python3.11", f"{baseline()['python']:.1f}", "MB")
    figure("baseline: python + nameko, eventlet, sqlalchemy imported",
           f"{baseline()['nameko']:.1f}", "MB")


def main():
    with running_platform() as stack:
        measure(stack, "at rest after start")
        warm_up(stack)
        measure(stack, "after a little work (health, metrics)")
        print_baseline()
    return 0


if __name__ == "__main__":
    sys.exit(main())
