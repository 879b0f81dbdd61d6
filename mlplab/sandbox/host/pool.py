"""The pool of a submission's workers: :class:`Forkserver` hands out forks of a shared zygote per set of
preloaded libraries (:func:`preload_modules`) and owns the submission's memory cgroup.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path

from mlplab.notebooks import CodeUnit
from mlplab.sandbox.host import budget as budgets
from mlplab.sandbox.host.launch import SandboxConfig
from mlplab.sandbox.host.protocol import ForkedWorker, SandboxStartError, Zygote, ZygoteLost

PRELOAD = ("numpy", "torch", "torchvision", "matplotlib", "IPython")
PROVIDED = "labutils"  # the course's helper package (SandboxConfig.labutils_dir), trusted, read-only in the sandbox
PROVIDED_IMPORT = re.compile(rf"^[ \t]*(?:from|import)[ \t]+({PROVIDED}(?:\.[A-Za-z_]\w*)*)\b", re.M)


def preload_modules(units: Sequence[CodeUnit]) -> list[str]:
    """The heavy libraries ``units`` import, to import once in the zygote (trusted, before student code).

    ``torch._dynamo`` comes with torch: the first optimizer PyTorch builds imports it (about a second).
    ``matplotlib``, ``matplotlib.pyplot`` and ``IPython`` are imported lazily by the zygote (see
    :data:`mlplab.sandbox.inside.zygote.LAZY`; a package comes before its submodules here).
    """
    modules = [m for m in PRELOAD if any(f"import {m}" in u.source or f"from {m}" in u.source for u in units)]
    if "torch" in modules:
        modules.append("torch._dynamo")
    if "matplotlib" in modules:
        modules.append("matplotlib.pyplot")
    if "IPython" in modules:
        modules.insert(modules.index("IPython") + 1, "IPython.display")
    return modules


def provided_modules(units: Sequence[CodeUnit], provided: Path | None) -> list[str]:
    """The modules of the course's helper package (``labutils``, in the folder ``provided``) that ``units``
    import, in order of first import: the zygote imports them once, so no worker imports them again (a
    dozen modules: 0.01-0.02 CPU s per worker of 02-04, eight workers per submission).

    Only modules that exist in ``provided`` are named (a misspelt import fails in the worker, as in the
    notebook, not in the zygote); names come from ``import``/``from`` lines of any cell, trusted or not:
    the zygote imports nothing but the course's own files this way. Empty without ``provided``.
    """
    if provided is None:
        return []
    found: list[str] = []
    for unit in units:
        for name in PROVIDED_IMPORT.findall(unit.source):
            parts = name.split(".")[1:]
            wanted = [PROVIDED] + [".".join([PROVIDED, *parts[: i + 1]]) for i in range(len(parts))]
            for module in wanted:
                rel = Path(*module.split(".")[1:]) if "." in module else Path()
                exists = (provided / rel / "__init__.py").is_file() or (
                    rel != Path() and (provided / rel).with_suffix(".py").is_file())
                if not exists:
                    break
                if module not in found:
                    found.append(module)
    return found


def zygote_modules(units: Sequence[CodeUnit], provided: Path | None) -> list[str]:
    """What a zygote for ``units`` imports before forking: the libraries (:func:`preload_modules`), then the
    course's helpers they import (:func:`provided_modules`; ``labutils.plotting`` imports pyplot, lazily)."""
    return preload_modules(units) + provided_modules(units, provided)


def light_key(modules: Sequence[str], light: Sequence[str]) -> tuple[str, ...]:
    """The zygote key of a worker needing ``modules``: without PyTorch, the submission's one light zygote
    (``light``: every library its notebooks without PyTorch import), in :data:`PRELOAD` order."""
    if any(m.startswith("torch") for m in modules):
        return tuple(modules)
    wanted = set(modules) | set(light)
    order = {name: i for i, name in enumerate(PRELOAD)}
    return tuple(sorted(wanted, key=lambda m: (order.get(m.split(".")[0], len(order)), m)))


class Forkserver:
    """Hands out workers for one submission: forks of a shared zygote per set of preloaded libraries.

    Notebooks that import only numpy get their workers from a zygote that is ready in a tenth of a
    second; those that import PyTorch from one that imported it (once, for all of them). A worker
    that dies takes only itself down. Should a shared zygote die or stop answering anyway, the
    workers get one sandbox each from then on (a zygote of their own), as if nothing were shared.
    """

    def __init__(self, config: SandboxConfig, shared: bool = True, light: Sequence[str] = ()) -> None:
        self.config = config
        self.shared = shared
        # the libraries of the submission's notebooks that do not use PyTorch: their workers share one
        # zygote that imported all of them (one sandbox start instead of one per set of libraries)
        self.light = tuple(light)
        self._zygotes: dict[tuple[str, ...], Zygote] = {}
        self._locks: dict[tuple[str, ...], threading.Lock] = {}
        self._lock = threading.Lock()
        self._budget: budgets.MemoryBudget | None = None
        self._budget_tried = False
        self.start_error: SandboxStartError | None = None

    def budget(self) -> budgets.MemoryBudget | None:
        """The submission's memory cgroup (made on first use; None where the kernel allows none)."""
        with self._lock:
            if not self._budget_tried:
                self._budget_tried = True
                limit = self.config.limits.memory_mb
                self._budget, why = budgets.create(limit)
                if self._budget is None:
                    budgets.warn_once(why, limit)
            return self._budget

    def _zygote(self, key: tuple[str, ...]) -> Zygote:
        return Zygote(self.config, key, self.budget())

    def new_worker(self, modules: Sequence[str] = ()) -> ForkedWorker:
        """A fresh worker whose zygote imported ``modules``; SandboxStartError when no sandbox can start."""
        try:
            return self._new_worker(light_key(modules, self.light))
        except SandboxStartError as exc:
            self.start_error = exc
            raise

    def _new_worker(self, key: tuple[str, ...]) -> ForkedWorker:
        if self.shared:
            with self._lock:
                lock = self._locks.setdefault(key, threading.Lock())
            with lock:
                try:
                    zygote = self._zygotes.get(key)
                    if zygote is None:
                        zygote = self._zygotes[key] = self._zygote(key)
                    return zygote.fork()
                except ZygoteLost:
                    self.shared = False  # from now on: one sandbox per worker (same memory budget)
                    self.close(release_budget=False)
        zygote = self._zygote(key)
        try:
            worker = zygote.fork()
        except BaseException:
            zygote.close()
            raise
        worker.owns_zygote = True
        return worker

    def close(self, release_budget: bool = True) -> None:
        """Close every shared sandbox; with ``release_budget``, remove the memory cgroup too."""
        with self._lock:
            zygotes, self._zygotes = list(self._zygotes.values()), {}
        for zygote in zygotes:
            zygote.close()
        if release_budget:
            with self._lock:
                budget, self._budget = self._budget, None
            if budget is not None:
                budget.close()
