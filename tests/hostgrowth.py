"""Host-side growth while something runs: disk use, shared memory (tmpfs), memory in use.

Sampled from the host (``statvfs`` of the temporary directory's filesystem, ``/proc/meminfo``), so a
sandbox cannot hide what it takes: the peak minus the value before is what the host paid.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from dataclasses import dataclass, field

MB = 1024 * 1024


def _meminfo() -> dict[str, int]:
    """``/proc/meminfo`` in bytes, by field name."""
    values = {}
    with open("/proc/meminfo") as fh:
        for line in fh:
            name, rest = line.split(":", 1)
            values[name] = int(rest.split()[0]) * 1024
    return values


def sample(disk_path: str | None = None) -> dict[str, int]:
    """One sample in bytes: ``disk`` used on ``disk_path``'s filesystem, ``shmem``, ``memory`` in use."""
    stat = os.statvfs(disk_path or tempfile.gettempdir())
    info = _meminfo()
    return {
        "disk": (stat.f_blocks - stat.f_bfree) * stat.f_frsize,
        "shmem": info["Shmem"],
        "memory": info["MemTotal"] - info["MemAvailable"],
    }


@dataclass
class GrowthMeter:
    """Peak growth over the first sample, per quantity, sampled every ``period_s`` on a thread."""

    period_s: float = 0.05
    disk_path: str | None = None
    baseline: dict[str, int] = field(default_factory=dict)
    peak: dict[str, int] = field(default_factory=dict)

    def __enter__(self) -> GrowthMeter:
        self.baseline = sample(self.disk_path)
        self.peak = dict(self.baseline)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, value in sample(self.disk_path).items():
                self.peak[key] = max(self.peak[key], value)
            time.sleep(self.period_s)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def growth_mb(self) -> dict[str, float]:
        """Peak minus baseline, in MiB, per quantity."""
        return {key: round((self.peak[key] - self.baseline[key]) / MB, 1) for key in self.baseline}
