"""The fork server of one submission's sandbox (runs inside the sandbox, trusted code only).

Starting a worker used to mean starting a sandbox and a Python interpreter and importing numpy (and
PyTorch, 2-3 s of CPU) for every worker: a submission needs a dozen of them. The zygote is started
once per submission, inside the same sandbox a worker had: it imports the heavy libraries the
submission uses, then forks one child per worker. A child starts with those libraries already in
memory, copy-on-write. The zygote itself never runs student code.

Control protocol on fd 0 (a Unix stream socket from the grading process), one JSON line each way;
every request carries an ``id`` that its reply echoes:

* ``{"op": "preload", "modules": [...]}`` -> ``{"ok": {"imported": [...], "failed": {module: reason}}}``;
* ``{"op": "fork"}``: the zygote forks; the child starts its own session, creates a socket pair,
  passes one end to the grading process (``SCM_RIGHTS``, one byte ``w``), closes the control
  socket and serves :func:`mlplab.sandbox.inside.worker.serve` on the other end. The grading process reads the
  child's pid in its own pid namespace from ``SO_PEERCRED`` of that end, so it can kill the child's
  process group itself. The zygote answers ``{"ok": {"pid": zygote-side pid}}`` once the end is
  passed;
* ``{"op": "status", "pid": n, "wait_s": t}`` -> ``{"ok": {"code": c}}`` (exit code, negative for a
  signal, as in :mod:`subprocess`) or ``{"ok": {"code": null}}`` while the child still runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import json
import os
import resource
import signal
import socket
import sys
import time

PR_SET_PDEATHSIG = 1
WORKER_OOM_SCORE_ADJ = 1000  # as mlplab.sandbox.host.launch.WORKER_OOM_SCORE_ADJ (this module imports no host code)
PR_SET_DUMPABLE = 4
# signals the zygote ignores (it is the sandbox's pid 1, which the kernel already shields from signals
# sent inside the sandbox unless a handler is installed: Python installs one for SIGINT)
IGNORED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
           signal.SIGALRM)


def _quiet_standard_streams() -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the process
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115


def _prctl(option: int, value: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(option, value)


# imported lazily: the module object exists at once, its code runs on the first attribute access.
# `import matplotlib.pyplot as plt` is in most notebooks' first cell, but a grader never plots: pyplot's
# import (a quarter of a second of CPU per submission) is paid only by a worker that really uses it; so is
# matplotlib's own package (rcParams, font and colour tables: 0.14 s), which only pyplot's code needs.
# `from IPython.display import Markdown, display` runs IPython/display.py for real, but not IPython's
# package __init__ (the interactive shell, 0.05 s): that runs on the first attribute of `IPython` itself.
# A package must come before its submodules in the list to preload (its placeholder is their parent).
LAZY = ("matplotlib", "matplotlib.pyplot", "IPython")
# the worker's own modules, imported once here instead of after every fork
WORKER_MODULES = ("mlplab.sandbox.inside.worker", "mlplab.sandbox.inside.session", "mlplab.sandbox.values")


def _import_lazily(name: str) -> None:
    """Put a placeholder for ``name`` into ``sys.modules`` (and on its parent package: imported for real, or
    a placeholder itself)
    whose code runs on the first attribute it is asked for (PEP 562 ``__getattr__``).

    Unlike importlib's LazyLoader, ``import matplotlib.pyplot as plt`` itself does not load it: the import
    system reads ``__spec__``, which the placeholder has.
    """
    import importlib.util

    spec = importlib.util.find_spec(name)  # imports the parent package (or finds its placeholder)
    if spec is None or spec.loader is None:
        raise ImportError(name)
    module = importlib.util.module_from_spec(spec)
    loading = []

    def load_on_first_use(attr: str):
        if loading or attr == "__path__":  # a plain module is no package; a second call is a circular import
            raise AttributeError(f"module {name!r} has no attribute {attr!r}")
        loading.append(True)
        del module.__dict__["__getattr__"]
        spec.loader.exec_module(module)
        return getattr(module, attr)

    module.__getattr__ = load_on_first_use
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)


def _preload(modules: list[str]) -> dict:
    """Import ``modules`` (those in :data:`LAZY` lazily), then move every object so far out of the garbage
    collector's sight; returns ``{"imported": [names], "failed": {name: "ExceptionType: first line"}}`` (the
    grading process logs failures: this process has no standard streams).

    Without ``gc.freeze()`` each forked worker's first full collection would walk (and, by touching
    their headers, copy) the millions of objects PyTorch creates at import: about a second per worker.
    """
    done: list[str] = []
    failed: dict[str, str] = {}
    for name in modules:
        try:
            if name in LAZY and name not in sys.modules:
                _import_lazily(name)
            else:
                importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - reported to the grading process, which logs it
            failed[name] = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}"
        else:
            done.append(name)
    for name in WORKER_MODULES:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    gc.collect()
    gc.freeze()
    return {"imported": done, "failed": failed}


def _become_worker(control: socket.socket, ready_fd: int, number: int) -> None:
    """In the forked child: hand a fresh channel to the grading process, then serve on it."""
    code = 0
    try:
        os.setsid()
        nproc = int(os.environ.get("MLPLAB_WORKER_NPROC", "0"))
        if nproc > 0:  # the zygote keeps headroom to fork the other workers (see sandbox.zygote_process_limit)
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        _prctl(PR_SET_DUMPABLE, 1)
        # the OOM killer takes a worker before its zygote (the zygote's /proc files belong to root
        # while it is not dumpable; the worker's are its own again from here)
        with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as fh:
            fh.write(str(WORKER_OOM_SCORE_ADJ))
        for signum in (*IGNORED, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        socket.send_fds(control, [b"w"], [theirs.fileno()])
        theirs.close()
        control.close()
        os.close(ready_fd)
        home = os.path.join(os.getcwd(), f"w{number}")
        os.makedirs(home, mode=0o700, exist_ok=True)
        os.chdir(home)
        os.environ["HOME"] = home
        fd = mine.detach()
        reader = os.fdopen(fd, "rb", buffering=0)
        writer = os.fdopen(os.dup(fd), "wb", buffering=0)
        from mlplab.sandbox.inside.worker import serve

        serve(reader, writer)
    except BaseException:  # noqa: BLE001 - a child never returns into the zygote's loop
        code = 1
    os._exit(code)


class _Lines:
    """Newline-delimited JSON over the control socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def read(self) -> dict | None:
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def write(self, message: dict) -> None:
        self.sock.sendall(json.dumps(message).encode() + b"\n")


def _reap(statuses: dict[int, int]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        statuses[pid] = os.waitstatus_to_exitcode(status)


def _status(pid: int, wait_s: float, statuses: dict[int, int]) -> int | None:
    deadline = time.monotonic() + max(0.0, min(wait_s, 5.0))
    while True:
        _reap(statuses)
        if pid in statuses:
            return statuses[pid]
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.02)


def serve() -> None:
    """Answer control requests until the grading process closes the control socket."""
    control = socket.socket(fileno=os.dup(0))
    _quiet_standard_streams()
    _prctl(PR_SET_DUMPABLE, 0)  # no worker may ptrace the zygote or read its memory
    for signum in IGNORED:
        signal.signal(signum, signal.SIG_IGN)
    lines = _Lines(control)
    statuses: dict[int, int] = {}
    # reap exited workers (and orphans: the zygote is the sandbox's init) as soon as they exit
    signal.signal(signal.SIGCHLD, lambda *_: _reap(statuses))
    forked = 0
    while True:
        try:
            request = lines.read()
        except (OSError, ValueError):
            request = None
        if request is None:
            return
        _reap(statuses)
        op = request.get("op")
        if op == "preload":
            reply: dict = {"ok": _preload([str(m) for m in request.get("modules", [])])}
        elif op == "fork":
            forked += 1
            ready_r, ready_w = os.pipe()
            try:
                pid = os.fork()
            except OSError as exc:  # e.g. the process limit of the sandbox uid is reached
                os.close(ready_r)
                os.close(ready_w)
                reply = {"error": f"fork failed: {exc}"}
            else:
                if pid == 0:
                    os.close(ready_r)
                    _become_worker(control, ready_w, forked)
                os.close(ready_w)
                os.read(ready_r, 1)  # EOF once the child has passed its channel (or died)
                os.close(ready_r)
                reply = {"ok": {"pid": pid}}
        elif op == "status":
            reply = {"ok": {"code": _status(int(request["pid"]), float(request.get("wait_s", 0)), statuses)}}
        else:
            reply = {"error": f"unknown operation {op!r}"}
        reply["id"] = request.get("id")
        try:
            lines.write(reply)
        except OSError:
            return


if __name__ == "__main__":
    serve()
