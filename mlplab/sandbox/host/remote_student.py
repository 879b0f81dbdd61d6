"""The ``Student`` of a sandboxed submission: :class:`RemoteStudent` implements the
:class:`~mlplab.sandbox.student.Student` interface over a worker's value-only channel. Each operation has a
wall-clock timeout; on timeout or death the worker's process group is killed, the call raises
:class:`~mlplab.sandbox.student.StudentTimeout` / ``StudentCrash``, and the next operation starts a fresh
worker that reloads the submission's code (skipping cells that hung or killed the worker while loading).
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from mlplab.notebooks import CodeUnit
from mlplab.sandbox.host.launch import SandboxConfig
from mlplab.sandbox.host.pool import Forkserver, zygote_modules
from mlplab.sandbox.host.protocol import ForkedWorker
from mlplab.sandbox.student import Student, StudentCrash, StudentError, StudentTimeout, _unpack_error
from mlplab.sandbox.values import ChannelError, decode, encode, load_error_text


class RemoteStudent(Student):
    """A submission's code running in a sandboxed worker process."""

    def __init__(
        self,
        units: list[CodeUnit],
        config: SandboxConfig,
        notes: list[str] | None = None,
        skipped: set[str] | None = None,
        forkserver: Forkserver | None = None,
    ) -> None:
        self.units = list(units)
        self.config = config
        self.skipped: set[str] = skipped if skipped is not None else set()
        self.notes: list[str] = notes if notes is not None else []
        self._own_forkserver = forkserver is None
        self.forkserver = forkserver or Forkserver(config)
        self.preload = zygote_modules(self.units, config.labutils_dir)
        self._worker: ForkedWorker | None = None
        self._load_errors: list[str] = []
        self._load_spent = 0.0
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Start the worker and load the code in the background (the next operation waits for it)."""

        def quietly() -> None:
            with contextlib.suppress(Exception):  # the next operation raises it again, in its test
                self._ensure()

        threading.Thread(target=quietly, daemon=True).start()

    def _ensure(self) -> ForkedWorker:
        with self._lock:
            return self._start()

    # -- lifecycle ----------------------------------------------------------
    def _start(self) -> ForkedWorker:
        if self._worker is not None and self._worker.alive():
            return self._worker
        self._stop_worker()
        # a cell that hangs or kills the worker is skipped and loading starts over in a fresh worker,
        # so the cells before it are loaded again (each pass skips one more cell, so this ends)
        while not self._load_all():
            pass
        if self._worker is None:
            self._worker = self.forkserver.new_worker(self.preload)
        return self._worker

    def _load_all(self) -> bool:
        """Load every unit not skipped yet; False when a unit had to be skipped (start over)."""
        self._load_errors = []
        limits = self.config.limits
        for unit in self.units:
            if unit.label in self.skipped:
                continue
            if self._load_spent > limits.load_budget_s:
                self.skipped.add(unit.label)
                self.notes.append(
                    f"{unit.label}: not loaded: the notebook's cells took more than "
                    f"{limits.load_budget_s:.0f} s in total to load"
                )
                continue
            worker = self._worker or self.forkserver.new_worker(self.preload)
            self._worker = worker
            began = time.monotonic()
            try:
                reply = worker.request(
                    {"op": "exec", "label": unit.label, "source": unit.source}, limits.load_timeout_s
                )
            except TimeoutError:
                self._load_spent += time.monotonic() - began
                self._skip(
                    unit,
                    f"{unit.label}: running this cell took longer than "
                    f"{limits.load_timeout_s:.0f} s while loading, so it was skipped",
                )
                return False
            except (EOFError, ChannelError):
                if worker.zygote_lost():
                    # another worker's code killed the shared sandbox: not this cell's fault
                    self._stop_worker()
                    return False
                self._skip(
                    unit, f"{unit.label}: {worker.exit_description()} while loading this cell, so it was skipped"
                )
                return False
            self._load_spent += time.monotonic() - began
            error = decode(reply.get("ok")) if "ok" in reply else reply.get("error")
            if isinstance(error, dict):
                self._load_errors.append(load_error_text(unit.label, error.get("type"), error.get("message")))
        return True

    def _skip(self, unit: CodeUnit, note: str) -> None:
        self.skipped.add(unit.label)
        self.notes.append(note)
        self._stop_worker()

    def _stop_worker(self) -> None:
        if self._worker is not None:
            self._worker.kill()
            self._worker = None

    def close(self) -> None:
        """Stop the worker (and the sandbox, when this student has its own)."""
        self._stop_worker()
        if self._own_forkserver:
            self.forkserver.close()

    # -- operations -----------------------------------------------------------
    def load_errors(self) -> list[str]:
        self._ensure()
        return list(self._load_errors)

    def _op(self, op: str, **args: Any) -> Any:
        worker = self._ensure()
        timeout = self.config.limits.call_timeout_s
        try:
            reply = worker.request({"op": op, "args": encode(args)}, timeout)
        except TimeoutError:
            self._stop_worker()
            raise StudentTimeout("Timeout", f"your code ran longer than {timeout:.0f} s and was stopped") from None
        except EOFError:
            description = worker.exit_description()
            self._stop_worker()
            raise StudentCrash("WorkerDied", description) from None
        except ChannelError as exc:
            self._stop_worker()
            raise StudentError("ChannelError", str(exc)) from None
        if "error" in reply:
            raise _unpack_error(reply["error"])
        try:
            return decode(reply.get("ok"))
        except ChannelError as exc:
            raise StudentError("ChannelError", str(exc)) from None

    def __del__(self) -> None:  # pragma: no cover - best effort
        with contextlib.suppress(Exception):
            self.close()
