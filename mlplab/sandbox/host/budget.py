"""One memory budget per submission: a memory cgroup that holds all of its sandbox processes.

Every sandbox of a submission (one per set of preloaded libraries) and every worker forked in it
join the submission's cgroup before the sandbox starts (see :func:`mlplab.sandbox.host.launch.preexec`),
so the kernel counts their memory together: anonymous memory, the pages of their sized tmpfs
(``/scratch``, ``/tmp``, ``/dev/shm``) and the page cache of the files they read. At the limit the
kernel first reclaims the group's page cache, then its OOM killer kills a process *of the group*
(a worker first: workers have the higher ``oom_score_adj``); the host and the other submissions
never notice.

The cgroup is made below the grading process's own cgroup: cgroup v2 where the memory controller
is enabled there, otherwise the v1 memory hierarchy. Where neither can be made (no delegation, a
read-only cgroupfs, a container), grading goes on with the rlimits and the sized tmpfs only, and
says so once (:func:`warn_once`).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024
WARNED_ENV = "MLPLAB_BUDGET_WARNED"  # set by `mlplab autograde` for its jobs once it has warned
_counter = itertools.count()
_warned = False


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, filesystem type, super options) of the cgroup filesystems."""
    found = []
    with contextlib.suppress(OSError), open("/proc/self/mountinfo") as fh:
        for line in fh:
            left, _, right = line.partition(" - ")
            fields, rest = left.split(), right.split()
            if len(fields) >= 5 and len(rest) >= 3 and rest[0] in ("cgroup", "cgroup2"):
                found.append((fields[4], rest[0], set(rest[2].split(","))))
    return found


def _own_paths() -> dict[str, str]:
    """This process's cgroup path per hierarchy: ``"memory"`` (v1) and ``""`` (v2)."""
    paths = {}
    with contextlib.suppress(OSError), open("/proc/self/cgroup") as fh:
        for line in fh:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if controllers == "":
                paths[""] = path
            elif "memory" in controllers.split(","):
                paths["memory"] = path
    return paths


def _v2_parent() -> tuple[Path | None, str]:
    """This process's v2 cgroup directory if children may get the memory controller, else (None, why)."""
    own = _own_paths().get("")
    mount = next((m for m, kind, _ in _mounts() if kind == "cgroup2"), None)
    if own is None or mount is None:
        return None, "no cgroup v2 hierarchy"
    parent = Path(mount) / own.lstrip("/")
    try:
        controllers = (parent / "cgroup.controllers").read_text().split()
    except OSError as exc:
        return None, f"cgroup v2 unreadable ({exc.strerror})"
    if "memory" not in controllers:
        return None, "the cgroup v2 memory controller is not delegated here"
    try:
        if "memory" not in (parent / "cgroup.subtree_control").read_text().split():
            (parent / "cgroup.subtree_control").write_text("+memory")
    except OSError as exc:
        return None, f"the cgroup v2 memory controller cannot be enabled below {parent} ({exc.strerror})"
    return parent, ""


def _v1_parent() -> tuple[Path | None, str]:
    own = _own_paths().get("memory")
    mount = next((m for m, kind, opts in _mounts() if kind == "cgroup" and "memory" in opts), None)
    if own is None or mount is None:
        return None, "no cgroup v1 memory hierarchy"
    return Path(mount) / own.lstrip("/"), ""


@dataclass
class MemoryBudget:
    """A memory cgroup of ``limit_mb`` for one submission's sandbox processes."""

    path: Path
    version: int
    limit_mb: int

    @property
    def procs_file(self) -> str:
        """The file a process writes its pid to, to join (``cgroup.procs``)."""
        return str(self.path / "cgroup.procs")

    def _read(self, v1: str, v2: str) -> str:
        try:
            return (self.path / (v1 if self.version == 1 else v2)).read_text()
        except OSError:
            return ""

    def peak_mb(self) -> float:
        """The most memory the group has held so far (v1: max_usage; v2: memory.peak where the kernel has it)."""
        text = self._read("memory.max_usage_in_bytes", "memory.peak").strip()
        return int(text) / MB if text.isdigit() else 0.0

    def oom_kills(self) -> int:
        """How many processes of the group the kernel's OOM killer has killed."""
        text = self._read("memory.oom_control", "memory.events")
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name == "oom_kill" and value.strip().isdigit():
                return int(value)
        return 0

    def close(self) -> None:
        """Remove the cgroup (its processes are gone by then; retried briefly while they exit)."""
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.05)


def _remove_stale(parent: Path) -> None:
    """Remove the empty cgroups of grading processes that died without cleaning up (killed)."""
    for stale in parent.glob("mlplab-*-*"):
        pid = stale.name.split("-")[1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            with contextlib.suppress(OSError):
                stale.rmdir()


def _make(parent: Path, version: int, limit_mb: int) -> MemoryBudget:
    _remove_stale(parent)
    path = parent / f"mlplab-{os.getpid()}-{next(_counter)}"
    path.mkdir()
    try:
        limit = str(limit_mb * MB)
        if version == 1:
            (path / "memory.limit_in_bytes").write_text(limit)
            with contextlib.suppress(OSError):  # no swap accounting: nothing to limit
                (path / "memory.memsw.limit_in_bytes").write_text(limit)
        else:
            (path / "memory.max").write_text(limit)
            with contextlib.suppress(OSError):
                (path / "memory.swap.max").write_text("0")
    except BaseException:
        with contextlib.suppress(OSError):
            path.rmdir()
        raise
    return MemoryBudget(path, version, limit_mb)


def create(limit_mb: int) -> tuple[MemoryBudget | None, str]:
    """A fresh memory cgroup of ``limit_mb`` MiB, or (None, why none could be made here)."""
    reasons = []
    for version, find in ((2, _v2_parent), (1, _v1_parent)):
        parent, why = find()
        if parent is None:
            reasons.append(why)
            continue
        try:
            return _make(parent, version, limit_mb), ""
        except OSError as exc:
            reasons.append(f"cannot create a cgroup v{version} below {parent} ({exc.strerror})")
    return None, "; ".join(reasons)


def warn_once(reason: str, limit_mb: int) -> None:
    """Say once per run (stderr) that the per-submission memory budget is not enforced, and why."""
    global _warned
    if _warned or os.environ.get(WARNED_ENV):
        return
    _warned = True
    print(
        f"mlplab: warning: no memory cgroup can be made here ({reason}), so the {limit_mb} MB memory "
        "budget of a submission's processes together is NOT enforced; each process keeps its rlimits "
        "and every writable place its sized tmpfs.",
        file=sys.stderr,
    )


def probe(limit_mb: int) -> str:
    """Why no budget can be made here ('' when one can): creates and removes one cgroup."""
    budget, why = create(limit_mb)
    if budget is not None:
        budget.close()
    return why
