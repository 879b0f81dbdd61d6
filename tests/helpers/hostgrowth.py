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


def uid_rss(uids: range | set[int]) -> int:
    """Resident memory (bytes) of every process owned by one of ``uids`` (sandbox uids), read from /proc."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
        except OSError:
            continue
        if int(fields.get("Uid", "-1").split()[0]) in uids and "VmRSS" in fields:
            total += int(fields["VmRSS"].split()[0]) * 1024
    return total


def sample(disk_path: str | None = None, uids: range | set[int] = ()) -> dict[str, int]:
    """One sample in bytes: ``disk`` used on ``disk_path``'s filesystem, ``shmem``, ``memory`` in use
    (all of the host: other users' activity shows too) and ``sandbox_rss`` (the processes of ``uids``)."""
    stat = os.statvfs(disk_path or tempfile.gettempdir())
    info = _meminfo()
    return {
        "disk": (stat.f_blocks - stat.f_bfree) * stat.f_frsize,
        "shmem": info["Shmem"],
        "memory": info["MemTotal"] - info["MemAvailable"],
        "sandbox_rss": uid_rss(uids) if uids else 0,
    }


@dataclass
class GrowthMeter:
    """Peak growth over the first sample, per quantity, sampled every ``period_s`` on a thread."""

    period_s: float = 0.05
    disk_path: str | None = None
    uids: range | set[int] = ()
    baseline: dict[str, int] = field(default_factory=dict)
    peak: dict[str, int] = field(default_factory=dict)

    def __enter__(self) -> GrowthMeter:
        self.baseline = sample(self.disk_path, self.uids)
        self.peak = dict(self.baseline)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, value in sample(self.disk_path, self.uids).items():
                self.peak[key] = max(self.peak[key], value)
            time.sleep(self.period_s)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def growth_mb(self) -> dict[str, float]:
        """Peak minus baseline, in MiB, per quantity."""
        return {key: round((self.peak[key] - self.baseline[key]) / MB, 1) for key in self.baseline}
