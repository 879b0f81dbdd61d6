"""How a submission's sandbox is started: bubblewrap sandbox or plain subprocess.

The sandbox runs the submission's zygote (:mod:`mlplab.sandbox.inside.zygote`), which forks the workers; every
limit below applies to the zygote and each worker alike (rlimits are inherited through fork).

The hardened sandbox (Linux, Debian's ``bwrap``):

* new IPC, PID, network, UTS and cgroup namespaces; no network devices at all; the zygote is
  the PID namespace's init, which the workers cannot signal or trace;
* read-only system (``/usr``, ``/lib*``, ``/bin``), read-only Python and
  virtualenv, read-only toolkit code (``mlplab``) and provided helpers
  (``labutils`` from the *release*), each bound from its real path (symbolic links resolved);
  nothing else of the host (no course dir, no gradebook, no source notebooks, no ``grader_tests``,
  no other submissions);
* everything writable is a tmpfs of fixed size (``--size``): ``/scratch`` (the working directory,
  ``Limits.scratch_mb``), ``/tmp`` and ``/dev/shm`` (``Limits.tmp_mb``); ``/dev`` itself is read-only.
  Nothing the sandbox writes reaches the host's disk, and every page of it is charged to the
  submission's memory cgroup (:mod:`mlplab.sandbox.host.budget`);
* a clean environment, ``--die-with-parent`` and ``--new-session``;
* a non-root uid with no capabilities. When the grader runs as root, bwrap is
  started without a user namespace and ``setpriv`` switches to the sandbox uid
  with an empty bounding set (a root-mapped user namespace would keep root's
  power over read-only binds); otherwise ``--unshare-all --cap-drop ALL``;
* rlimits: address space, CPU seconds, file size, open files, processes, no core;
  ``oom_score_adj`` raised, so that under memory pressure the kernel kills sandbox processes first.

The plain mode (``unsafe=True``) runs the same worker as a subprocess with the
same rlimits and clean environment but no isolation; it exists for machines
without bubblewrap and must be asked for explicitly.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import sys
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import mlplab
from mlplab.config import Sandbox

SANDBOX_UID_BASE = 62000
PACKAGE_MOUNT = "/opt/mlplab"
SCRATCH = "/scratch"


# oom_score_adj of the sandbox (bwrap, the zygote) and of each worker (raised after the fork): the
# kernel's OOM killer picks sandbox processes before anything of the host, and workers before their zygote
ZYGOTE_OOM_SCORE_ADJ = 500
WORKER_OOM_SCORE_ADJ = 1000
MB = 1024 * 1024


class SandboxUnavailable(RuntimeError):
    """The hardened sandbox cannot run here (no bubblewrap, a path it cannot bind, a limit it cannot set)."""


def _default(name: str) -> Any:
    return Sandbox.class_traits()[name].default_value


@dataclass
class Limits:
    """Resource limits of one submission (``memory_mb``) and of each of its worker processes (the rest).

    ``memory_mb``: all processes of the submission together, their tmpfs and page cache included
    (a memory cgroup); ``scratch_mb``: the size of each sandbox's writable ``/scratch`` tmpfs;
    ``tmp_mb``: the size of its ``/tmp`` and of its ``/dev/shm``. Defaults and meanings: :class:`mlplab.config.Sandbox`,
    the one source of truth: one field per setting there but ``slot`` (tests/test_config.py keeps them in step).
    """

    memory_mb: int = _default("memory_mb")
    scratch_mb: int = _default("scratch_mb")
    tmp_mb: int = _default("tmp_mb")
    address_space_mb: int = _default("address_space_mb")
    cpu_seconds: int = _default("cpu_seconds")
    file_size_mb: int = _default("file_size_mb")
    open_files: int = _default("open_files")
    processes: int = _default("processes")
    call_timeout_s: float = _default("call_timeout_s")
    load_timeout_s: float = _default("load_timeout_s")
    load_budget_s: float = _default("load_budget_s")
    preload_timeout_s: float = _default("preload_timeout_s")
    task_timeout_s: float = _default("task_timeout_s")
    submission_timeout_s: float = _default("submission_timeout_s")

    @classmethod
    def from_settings(cls, sandbox: Sandbox) -> Limits:
        """The limits of a :class:`mlplab.config.Sandbox` (defaults, nbgrader_config.py, environment, options)."""
        return cls(**{f.name: getattr(sandbox, f.name) for f in fields(cls)})


@dataclass
class SandboxConfig:
    """Where the worker runs and what it may see."""

    labutils_dir: Path | None = None
    unsafe: bool = False
    slot: int = 0
    limits: Limits = field(default_factory=Limits)
    extra_env: dict[str, str] = field(default_factory=dict)


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def rlimits(limits: Limits, as_root: bool | None = None) -> dict[str, tuple[int, tuple[int, int]]]:
    """The rlimits the sandbox starts with: name -> (resource, (soft, hard))."""
    mb = MB
    as_root = os.geteuid() == 0 if as_root is None else as_root
    table = {
        "address space": (resource.RLIMIT_AS, (limits.address_space_mb * mb,) * 2),
        "CPU time": (resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5)),
        "file size": (resource.RLIMIT_FSIZE, (limits.file_size_mb * mb,) * 2),
        "open files": (resource.RLIMIT_NOFILE, (limits.open_files,) * 2),
        "core size": (resource.RLIMIT_CORE, (0, 0)),
    }
    if not as_root:
        # as root the limit is applied after setpriv switches uid (see worker_command)
        table["processes"] = (resource.RLIMIT_NPROC, (zygote_process_limit(limits),) * 2)
    return table


def check_rlimits(limits: Limits) -> None:
    """Raise SandboxUnavailable (one sentence) when a limit is above what this account may set."""
    if os.geteuid() == 0:
        return
    for name, (which, (_, hard)) in rlimits(limits).items():
        _, allowed = resource.getrlimit(which)
        if allowed != resource.RLIM_INFINITY and hard > allowed:
            raise SandboxUnavailable(
                f"the sandbox's {name} limit ({hard}) is above this account's hard limit ({allowed}), "
                "so it cannot be set: lower it in Limits or raise the account's limit"
            )


def _set_rlimits(limits: Limits) -> None:
    for which, values in rlimits(limits).values():
        resource.setrlimit(which, values)


def zygote_process_limit(limits: Limits) -> int:
    """RLIMIT_NPROC of the zygote: twice the workers' own limit.

    The limit counts every process of the sandbox uid, and the workers are forks of the zygote. Each
    worker lowers its limit to ``limits.processes`` right after the fork, so a fork loop in one
    worker stops there while the zygote keeps the headroom to fork the submission's other workers.
    """
    return 2 * limits.processes


def _worker_env(config: SandboxConfig, home: str) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": home,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "MLPLAB_QUICK": "1",
        "MLPLAB_IN_SANDBOX": "1",
        "MLPLAB_WORKER_NPROC": str(config.limits.processes),
        "TMPDIR": "/tmp",
    }
    env.update(config.extra_env)
    return env


def _python_roots() -> list[Path]:
    """Directories the worker's interpreter needs, as real paths: base prefix and the virtualenv."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    return sorted(roots)


def sandbox_python() -> str:
    """The interpreter to run inside the sandbox: this one, reached through the virtualenv's real path.

    ``sys.executable`` may pass through a symbolic link (a symlinked ``.venv``, a home directory on a
    symlinked mount) that does not exist in the sandbox, where only real paths are bound. Started
    from the real prefix, Python still finds the virtualenv's ``pyvenv.cfg`` next to it.
    """
    executable = Path(sys.executable)
    try:
        inside = executable.relative_to(sys.prefix)
    except ValueError:
        return str(executable.resolve())
    return str(Path(sys.prefix).resolve() / inside)


def _bind_source(path: Path, what: str) -> str:
    """``path`` as a bind source (its real path); SandboxUnavailable when it is missing."""
    real = path.resolve()
    if not real.exists():
        raise SandboxUnavailable(f"cannot bind the {what} {path} into the sandbox: {real} does not exist")
    return str(real)


def _parents_dirs(path: Path) -> list[str]:
    args: list[str] = []
    for parent in reversed(path.parents):
        if str(parent) in ("/", "/tmp"):
            continue
        args += ["--perms", "0755", "--dir", str(parent)]
    return args


def sandbox_uid(slot: int) -> int:
    return SANDBOX_UID_BASE + slot


def worker_bootstrap(package_parent: str, labutils_parent: str | None) -> str:
    """The ``python -c`` program of the sandbox: the submission's zygote (fork server)."""
    paths = [package_parent] + ([labutils_parent] if labutils_parent else [])
    return f"import sys; sys.path[:0] = {paths!r}; from mlplab.sandbox.inside.zygote import serve; serve()"


def make_scratch(slot: int) -> Path:
    """A fresh host scratch directory owned by the sandbox uid (when root); only the unsafe mode uses one."""
    scratch = Path(tempfile.mkdtemp(prefix="mlplab-scratch-"))
    if os.geteuid() == 0:
        uid = sandbox_uid(slot)
        os.chown(scratch, uid, uid)
    scratch.chmod(0o700)
    return scratch


def _sized_tmpfs(path: str, megabytes: int) -> list[str]:
    return ["--perms", "1777", "--size", str(megabytes * MB), "--tmpfs", path]


def worker_command(config: SandboxConfig, scratch: Path | None = None) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that start one sandbox (its zygote: the fork server of the workers).

    ``scratch`` (a host directory) is the working directory of the unsafe mode only; the sandbox's
    own ``/scratch`` is a sized tmpfs. Raises SandboxUnavailable, in one sentence, when the sandbox
    cannot start here.
    """
    package_dir = Path(mlplab.__file__).resolve().parent
    labutils = config.labutils_dir.resolve() if config.labutils_dir else None
    if config.unsafe:
        boot = worker_bootstrap(str(package_dir.parent), str(labutils.parent) if labutils else None)
        home = str(scratch or tempfile.gettempdir())
        return [sys.executable, "-I", "-c", boot], _worker_env(config, home)
    bwrap = bwrap_path()
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, so student code cannot be sandboxed. "
            "Install it (Debian/Ubuntu: apt-get install bubblewrap; `make setup` does this as root), "
            "or pass --unsafe-no-sandbox to grade without isolation on a machine you trust."
        )
    check_rlimits(config.limits)
    argv = [bwrap, "--die-with-parent", "--new-session"]
    as_root = os.geteuid() == 0
    if as_root:
        argv += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    else:
        argv += ["--unshare-all", "--cap-drop", "ALL"]
    # the zygote is the pid namespace's init: the workers it forks cannot signal it (the kernel drops
    # signals to a namespace's init from inside unless it handles them), so no cell can kill the
    # sandbox of the other workers
    argv += ["--as-pid-1"]
    # /proc, /dev and the private /tmp first: later binds may live below /tmp (a course cloned there).
    # Every writable place is a tmpfs of fixed size; /dev's own tmpfs (bwrap gives it no size) is
    # made read-only once /dev/shm has its sized tmpfs.
    limits = config.limits
    argv += ["--proc", "/proc", "--dev", "/dev"]
    argv += _sized_tmpfs("/dev/shm", limits.tmp_mb) + ["--remount-ro", "/dev"]
    argv += _sized_tmpfs("/tmp", limits.tmp_mb)
    for system_dir in ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/libx32", "/sbin"):
        if os.path.isdir(system_dir):
            argv += ["--ro-bind", system_dir, system_dir]
    for root in _python_roots():
        if str(root).startswith(("/usr/", "/bin/", "/lib/")):
            continue
        argv += _parents_dirs(root) + ["--ro-bind", _bind_source(root, "Python installation"), str(root)]
    argv += ["--perms", "0755", "--dir", PACKAGE_MOUNT]
    argv += ["--ro-bind", _bind_source(package_dir, "toolkit"), f"{PACKAGE_MOUNT}/mlplab"]
    labutils_parent = None
    if labutils is not None:
        argv += ["--perms", "0755", "--dir", f"{PACKAGE_MOUNT}/provided"]
        argv += ["--ro-bind", _bind_source(labutils, "provided helpers"), f"{PACKAGE_MOUNT}/provided/labutils"]
        labutils_parent = f"{PACKAGE_MOUNT}/provided"
    argv += _sized_tmpfs(SCRATCH, limits.scratch_mb) + ["--chdir", SCRATCH, "--clearenv"]
    env = _worker_env(config, SCRATCH)
    for key, value in env.items():
        argv += ["--setenv", key, value]
    argv.append("--")
    if as_root:
        uid = str(sandbox_uid(config.slot))
        argv += [
            "setpriv",
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            "prlimit",
            f"--nproc={zygote_process_limit(config.limits)}",
            "--",
        ]
    argv += [sandbox_python(), "-I", "-c", worker_bootstrap(PACKAGE_MOUNT, labutils_parent)]
    return argv, {}


def set_oom_score_adj(value: int) -> None:
    """Ask the kernel's OOM killer to choose this process early (raising it needs no privilege)."""
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as fh:
        fh.write(str(value))


def preexec(config: SandboxConfig, cgroup_procs: str | None = None):
    """preexec_fn for subprocess: in the child before exec, join the submission's memory cgroup
    (``cgroup_procs``: its ``cgroup.procs`` file), raise ``oom_score_adj`` and set the rlimits."""

    def _apply() -> None:
        if cgroup_procs is not None:
            with open(cgroup_procs, "w") as fh:
                fh.write(str(os.getpid()))
        set_oom_score_adj(ZYGOTE_OOM_SCORE_ADJ)
        _set_rlimits(config.limits)

    return _apply
