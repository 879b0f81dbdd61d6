"""The grading side of a sandboxed worker: start it, talk to it, stop it.

:class:`RemoteStudent` implements the :class:`~mlplab.student.Student`
interface over the value-only channel. Each operation has a wall-clock
timeout; on timeout or death the whole process group is killed, the call
raises :class:`~mlplab.student.StudentTimeout` / ``StudentCrash``, and the next
operation starts a fresh worker that reloads the submission's code (skipping
cells that hung or killed the worker while loading).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import shutil
import signal
import struct
import subprocess
import threading
import time
from typing import Any

from mlplab.notebook_code import CodeUnit
from mlplab.sandbox import SandboxConfig, make_scratch, preexec, worker_command
from mlplab.student import Student, StudentCrash, StudentError, StudentTimeout, _unpack_error
from mlplab.values import MAX_MESSAGE_BYTES, ChannelError, decode, encode, write_message

PRELOAD = ("numpy", "torch", "torchvision", "matplotlib")

_spawn_requests: queue.Queue = queue.Queue()
_spawner_lock = threading.Lock()
_spawner: threading.Thread | None = None


def _spawn_loop() -> None:
    while True:
        make, box, done = _spawn_requests.get()
        try:
            box.append(make())
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            box.append(exc)
        done.set()


def spawn(make):
    """Run ``make()`` (which starts a process) on one long-lived thread.

    bubblewrap's ``--die-with-parent`` uses PR_SET_PDEATHSIG, which fires when the *thread* that
    started the process exits. Workers started from short-lived threads (background warm-up) would
    be killed at random; starting them all from a thread that lives as long as the process keeps
    the guarantee (grading process gone, sandboxes gone) without that race.
    """
    global _spawner
    with _spawner_lock:
        if _spawner is None or not _spawner.is_alive():
            _spawner = threading.Thread(target=_spawn_loop, name="mlplab-spawner", daemon=True)
            _spawner.start()
    box: list = []
    done = threading.Event()
    _spawn_requests.put((make, box, done))
    done.wait()
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


class _Worker:
    """One running worker process."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.scratch = make_scratch(config.slot)
        argv, env = worker_command(config, self.scratch)
        self.proc = spawn(
            lambda: subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env or None,
                cwd=str(self.scratch),
                start_new_session=True,
                preexec_fn=preexec(config),
            )
        )
        self._fd = self.proc.stdout.fileno()

    def _read_exact(self, n: int, deadline: float) -> bytes:
        chunks = []
        while n > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self._fd], [], [], remaining)
            if not ready:
                raise TimeoutError
            chunk = os.read(self._fd, min(n, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def request(self, message: dict, timeout: float) -> dict:
        try:
            write_message(self.proc.stdin, message)
        except (BrokenPipeError, OSError):
            raise EOFError from None
        deadline = time.monotonic() + timeout
        (size,) = struct.unpack("<Q", self._read_exact(8, deadline))
        if size > MAX_MESSAGE_BYTES:
            raise ChannelError("worker sent an oversized message")
        body = self._read_exact(size, deadline)
        try:
            reply = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ChannelError("worker sent a malformed message") from None
        if not isinstance(reply, dict):
            raise ChannelError("worker sent a malformed message")
        return reply

    def exit_description(self) -> str:
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            return "the worker stopped answering"
        if code > 128:  # bubblewrap reports a child killed by signal N as exit code 128 + N
            code = -(code - 128)
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            if name in ("SIGKILL", "SIGXCPU"):
                return f"the worker was killed ({name}: a memory, CPU or time limit was hit, or the code killed it)"
            return f"the worker was killed by {name}"
        return f"the worker process exited with code {code} (sys.exit/os._exit or a crash)"

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


class RemoteStudent(Student):
    """A submission's code running in a sandboxed worker process."""

    def __init__(
        self,
        units: list[CodeUnit],
        config: SandboxConfig,
        notes: list[str] | None = None,
        skipped: set[str] | None = None,
    ) -> None:
        self.units = list(units)
        self.config = config
        self.skipped: set[str] = skipped if skipped is not None else set()
        self.notes: list[str] = notes if notes is not None else []
        self._worker: _Worker | None = None
        self._load_errors: list[str] = []
        self._load_spent = 0.0
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Start the worker and load the code in the background (the next operation waits for it)."""

        def quietly() -> None:
            with contextlib.suppress(Exception):  # the next operation raises it again, in its test
                self._ensure()

        threading.Thread(target=quietly, daemon=True).start()

    def _ensure(self) -> _Worker:
        with self._lock:
            return self._start()

    # -- lifecycle ----------------------------------------------------------
    def _preload(self, worker: _Worker) -> None:
        """Import the heavy libraries the code uses before any student code runs.

        Trusted code with a generous timeout: a slow ``import torch`` on a busy machine must not
        count against the student's cells.
        """
        modules = [m for m in PRELOAD if any(f"import {m}" in u.source or f"from {m}" in u.source for u in self.units)]
        if modules:
            source = "\n".join(f"import {m}" for m in modules)
            with contextlib.suppress(TimeoutError, EOFError, ChannelError):
                worker.request(
                    {"op": "exec", "label": "preload", "source": source}, self.config.limits.preload_timeout_s
                )

    def _new_worker(self) -> _Worker:
        worker = _Worker(self.config)
        self._preload(worker)
        return worker

    def _start(self) -> _Worker:
        if self._worker is not None and self._worker.proc.poll() is None:
            return self._worker
        self.close()
        # a cell that hangs or kills the worker is skipped and loading starts over in a fresh worker,
        # so the cells before it are loaded again (each pass skips one more cell, so this ends)
        while not self._load_all():
            pass
        if self._worker is None:
            self._worker = self._new_worker()
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
            worker = self._worker or self._new_worker()
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
                self._skip(
                    unit, f"{unit.label}: {worker.exit_description()} while loading this cell, so it was skipped"
                )
                return False
            self._load_spent += time.monotonic() - began
            error = decode(reply.get("ok")) if "ok" in reply else reply.get("error")
            if isinstance(error, dict):
                self._load_errors.append(f"{unit.label}: {error.get('type')}: {str(error.get('message'))[:200]}")
        return True

    def _skip(self, unit: CodeUnit, note: str) -> None:
        self.skipped.add(unit.label)
        self.notes.append(note)
        if self._worker is not None:
            self._worker.kill()
            self._worker = None

    def close(self) -> None:
        if self._worker is not None:
            self._worker.kill()
            self._worker = None

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
            self.close()
            raise StudentTimeout("Timeout", f"your code ran longer than {timeout:.0f} s and was stopped") from None
        except EOFError:
            description = worker.exit_description()
            self.close()
            raise StudentCrash("WorkerDied", description) from None
        except ChannelError as exc:
            self.close()
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
