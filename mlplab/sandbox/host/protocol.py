"""The process protocol between the grading process and a submission's sandbox.

A submission gets one sandbox whose zygote (:mod:`mlplab.sandbox.inside.zygote`) imports the heavy libraries
once and forks the workers: :class:`Zygote` starts the sandbox and asks it for forks over its control socket,
:class:`ForkedWorker` is one worker and its private value-only channel. :func:`spawn` starts every sandbox
from one long-lived thread. The pool that hands out workers is :mod:`mlplab.sandbox.host.pool`, the
``Student`` over a worker :mod:`mlplab.sandbox.host.remote_student`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlplab.sandbox.host import budget as budgets
from mlplab.sandbox.host.launch import SandboxConfig, SandboxUnavailable, make_scratch, preexec, worker_command
from mlplab.sandbox.values import MAX_MESSAGE_BYTES, ChannelError, write_message

FORK_TIMEOUT_S = 30.0
log = logging.getLogger(__name__)

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


class ZygoteLost(RuntimeError):
    """The submission's zygote died or stopped answering."""


class SandboxStartError(SandboxUnavailable):
    """A sandbox could not start at all (its message names the cause in one sentence)."""


def _last_line(text: bytes) -> str:
    lines = [line.strip() for line in text.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


class Zygote:
    """One sandbox running the fork server of a submission (see :mod:`mlplab.sandbox.inside.zygote`)."""

    def __init__(
        self, config: SandboxConfig, modules: Sequence[str] = (), budget: budgets.MemoryBudget | None = None
    ) -> None:
        self.config = config
        self.budget = budget
        # only the unsafe mode works in a host directory; the sandbox's /scratch is a sized tmpfs
        self.scratch = make_scratch(config.slot) if config.unsafe else None
        argv, env = worker_command(config, self.scratch)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # bwrap's own complaints (a path it cannot bind...) and the interpreter's, before the zygote
        # silences its streams: read when the sandbox does not start
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        procs = budget.procs_file if budget is not None else None
        try:
            self.proc = spawn(
                lambda: subprocess.Popen(
                    argv,
                    stdin=theirs.fileno(),
                    stdout=subprocess.DEVNULL,
                    stderr=self._stderr,
                    env=env or None,
                    cwd=str(self.scratch or "/"),
                    start_new_session=True,
                    preexec_fn=preexec(config, procs),
                )
            )
        except subprocess.SubprocessError:
            self._cleanup_start(ours)
            raise SandboxStartError(
                "the sandbox's limits could not be set before it started (joining its memory cgroup, "
                "oom_score_adj or an rlimit failed)"
            ) from None
        except OSError as exc:
            self._cleanup_start(ours)
            raise SandboxStartError(f"the sandbox could not be started ({argv[0]}: {exc.strerror})") from None
        except BaseException:
            self._cleanup_start(ours)
            raise
        finally:
            theirs.close()
        self.sock = ours
        self._answered = False  # the zygote replied at least once: it started
        self._buffer = b""
        self._next_id = 0
        self._lock = threading.Lock()
        if modules:
            # trusted imports with a generous timeout: a slow `import torch` on a busy machine must not
            # count against the student's cells
            try:
                preloaded = self._ask({"op": "preload", "modules": list(modules)}, config.limits.preload_timeout_s)
            except ZygoteLost:
                failure = self.start_failure()
                self.close()
                if failure:
                    raise SandboxStartError(failure) from None
                raise
            except BaseException:
                self.close()
                raise
            failed = preloaded.get("failed") if isinstance(preloaded, dict) else None
            for name, reason in (failed or {}).items():
                log.warning("the sandbox could not preload %s (%s); code that imports it pays for it or fails", name,
                            reason)

    def _cleanup_start(self, ours: socket.socket) -> None:
        ours.close()
        self._stderr.close()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def start_failure(self) -> str | None:
        """Why the sandbox did not start (one sentence), or None when it started (it once answered) or
        still runs: a sandbox lost later (killed at its memory budget...) is not a start failure."""
        if self._answered or self.alive(wait_s=1.0):
            return None
        try:
            self._stderr.seek(0)
            said = _last_line(self._stderr.read()[-4000:])
        except (OSError, ValueError):
            said = ""
        if not said:
            return None
        return f"the sandbox could not start: {said}"

    # -- control channel ----------------------------------------------------------
    # Every request carries an id that the zygote echoes: a reply that arrives after its request timed
    # out here (a starved machine) is recognised as stale and skipped instead of answering the next one.
    def _send(self, message: dict, timeout: float) -> int:
        self._next_id += 1
        try:
            self.sock.settimeout(timeout)
            self.sock.sendall(json.dumps({**message, "id": self._next_id}).encode() + b"\n")
        except OSError as exc:
            raise ZygoteLost(f"the sandbox stopped answering ({type(exc).__name__})") from None
        return self._next_id

    def _read_reply(self, request_id: int) -> Any:
        """The reply to request ``request_id`` (the socket's timeout applies to each read)."""
        try:
            while True:
                while b"\n" not in self._buffer:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        raise ZygoteLost("the sandbox exited")
                    self._buffer += chunk
                line, self._buffer = self._buffer.split(b"\n", 1)
                reply = json.loads(line)
                if not isinstance(reply, dict) or reply.get("id") == request_id:
                    break
        except (OSError, ValueError) as exc:  # socket.timeout is an OSError
            raise ZygoteLost(f"the sandbox stopped answering ({type(exc).__name__})") from None
        if not isinstance(reply, dict) or "ok" not in reply:
            raise ZygoteLost("the sandbox sent a malformed reply")
        self._answered = True
        return reply["ok"]

    def _ask(self, message: dict, timeout: float) -> Any:
        return self._read_reply(self._send(message, timeout))

    def _receive_channel(self) -> int:
        """The worker channel a forked child passes (SCM_RIGHTS on one byte ``w``).

        Read byte by byte, because the ancillary data travels with that byte; text before it (a stale
        reply) is kept for :meth:`_read_reply`.
        """
        while True:
            try:
                byte, fds, _, _ = socket.recv_fds(self.sock, 1, 1)
            except OSError as exc:
                raise ZygoteLost(f"the sandbox did not fork a worker ({type(exc).__name__})") from None
            if fds:
                if byte == b"w" and len(fds) == 1:
                    return fds[0]
                for fd in fds:
                    os.close(fd)
                raise ZygoteLost("the sandbox did not hand over a worker channel")
            if not byte:
                raise ZygoteLost("the sandbox exited")
            self._buffer += byte

    def fork(self) -> ForkedWorker:
        """A fresh worker forked from the zygote."""
        with self._lock:
            try:
                if not self.alive():
                    raise ZygoteLost("the sandbox exited")
                request_id = self._send({"op": "fork"}, FORK_TIMEOUT_S)
                channel = socket.socket(fileno=self._receive_channel())
            except ZygoteLost:
                failure = self.start_failure()
                if failure:
                    raise SandboxStartError(failure) from None
                raise
            try:
                reply = self._read_reply(request_id)
                local_pid = int(reply["pid"])
                creds = channel.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            except (KeyError, TypeError, ValueError):
                channel.close()
                raise ZygoteLost("the sandbox sent no worker pid") from None
            except BaseException:
                channel.close()
                raise
            host_pid = struct.unpack("3i", creds)[0]
            worker = ForkedWorker(self, channel, host_pid, local_pid)
            worker.oom_kills_at_start = self.budget.oom_kills() if self.budget is not None else 0
            return worker

    def exit_code(self, local_pid: int, wait_s: float) -> int | None:
        """How worker ``local_pid`` ended (``subprocess`` convention), None if unknown or still running."""
        with self._lock:
            if not self.alive():
                return None
            try:
                code = self._ask({"op": "status", "pid": local_pid, "wait_s": wait_s}, wait_s + 10.0).get("code")
            except (ZygoteLost, AttributeError):
                return None
        return code if isinstance(code, int) else None

    def alive(self, wait_s: float = 0.0) -> bool:
        """Whether the sandbox still runs (waiting up to ``wait_s`` for it to finish exiting)."""
        if wait_s:
            try:
                self.proc.wait(timeout=wait_s)
            except subprocess.TimeoutExpired:
                return True
        return self.proc.poll() is None

    def zygote_pids(self) -> list[int]:
        """Host pids of the processes bwrap started (the zygote; empty once it is gone)."""
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    def close(self) -> None:
        """Kill the sandbox, every worker in it, and remove its scratch directory.

        Closing the control socket alone would do: the zygote exits when it reads end-of-file, as it
        does when the grading process dies (bubblewrap's --die-with-parent does not reach a pid 1
        that switched uid), and the workers die with their pid namespace.
        """
        if self.proc.poll() is None:
            # the zygote first (bwrap's child, the sandbox's init): its death ends the pid namespace
            for pid in self.zygote_pids():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        with contextlib.suppress(OSError):
            self.sock.close()
        with contextlib.suppress(OSError):
            self._stderr.close()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


class ForkedWorker:
    """One worker process (a child of a zygote) and its private channel."""

    def __init__(self, zygote: Zygote, channel: socket.socket, host_pid: int, local_pid: int) -> None:
        self.zygote = zygote
        self.owns_zygote = False
        self.host_pid = host_pid
        self.local_pid = local_pid
        self._fd = channel.detach()
        self._writer = os.fdopen(os.dup(self._fd), "wb", buffering=0)
        self._closed = False
        self.oom_kills_at_start = 0

    def _read_exact(self, n: int, deadline: float) -> bytes:
        chunks = []
        while n > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self._fd], [], [], remaining)
            if not ready:
                raise TimeoutError
            try:
                chunk = os.read(self._fd, min(n, 1 << 20))
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def request(self, message: dict, timeout: float) -> dict:
        try:
            write_message(self._writer, message)
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

    def alive(self) -> bool:
        if self._closed:
            return False
        try:
            os.kill(self.host_pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return self.zygote.alive()

    def zygote_lost(self) -> bool:
        """True when this worker died because the zygote it shares with others died."""
        return not self.owns_zygote and not self.zygote.alive(wait_s=1.0)

    def exit_description(self) -> str:
        code = self.zygote.exit_code(self.local_pid, 2.0)
        if code is None:
            return "the worker stopped answering"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            budget = self.zygote.budget
            if name == "SIGKILL" and budget is not None and budget.oom_kills() > self.oom_kills_at_start:
                return (
                    f"the worker was killed: the submission's {budget.limit_mb} MB memory budget "
                    "(all its processes, files in /scratch and /tmp included) was used up"
                )
            if name in ("SIGKILL", "SIGXCPU"):
                return f"the worker was killed ({name}: a memory, CPU or time limit was hit, or the code killed it)"
            return f"the worker was killed by {name}"
        return f"the worker process exited with code {code} (sys.exit/os._exit or a crash)"

    def kill(self) -> None:
        """Kill the worker's process group (its children too); with an own zygote, the whole sandbox."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.host_pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.host_pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                self._writer.close()
            with contextlib.suppress(OSError):
                os.close(self._fd)
        if self.owns_zygote:
            self.zygote.close()
