"""Multiprocess mode: several uvicorn workers write their metrics to files that the scrape merges.

prometheus_client decides at import time, from ``PROMETHEUS_MULTIPROC_DIR``, whether values go to
memory or to per-process files. ``erp serve`` therefore sets the variable before uvicorn spawns its
workers (fresh interpreters that import the app afterwards).
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from pathlib import Path

from prometheus_client import multiprocess

ENV = "PROMETHEUS_MULTIPROC_DIR"
_LIVE_FILE = re.compile(r"^gauge_live\w*?_(\d+)\.db$")
_PID_FILE = re.compile(r"^\w+?_(\d+)\.db$")


def prepare_multiprocess_dir(workers: int) -> Path | None:
    """Set up the metrics directory for ``erp serve`` before workers start; returns it (None: not used).

    An operator-chosen ``PROMETHEUS_MULTIPROC_DIR`` loses the files of processes that no longer exist
    (a previous run's counters would otherwise be added to this run's). This process's own files stay:
    it has them open already. Without one, several workers get a private temporary directory removed at
    exit; a single worker keeps its metrics in memory.
    """
    configured = os.environ.get(ENV)
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            match = _PID_FILE.match(stale.name)
            if match is None or not _alive(int(match.group(1))):
                stale.unlink(missing_ok=True)
        return path
    if workers <= 1:
        return None
    path = Path(tempfile.mkdtemp(prefix="erp-metrics-"))
    os.environ[ENV] = str(path)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def mark_dead_workers(path: Path) -> list[int]:
    """Drop the live-gauge files of worker processes that have exited (uvicorn restarts dead workers).

    Counters and histograms of dead workers stay: their totals must not go backwards. Returns the
    pids cleaned up.
    """
    dead = set()
    for file in path.glob("gauge_live*.db"):
        match = _LIVE_FILE.match(file.name)
        if match and not _alive(int(match.group(1))):
            dead.add(int(match.group(1)))
    for pid in sorted(dead):
        multiprocess.mark_process_dead(pid, str(path))
    return sorted(dead)
