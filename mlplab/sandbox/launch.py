"""How a submission's sandbox is started: bubblewrap sandbox or plain subprocess.

The sandbox runs the submission's zygote (:mod:`mlplab.sandbox.zygote`), which forks the workers; every
limit below applies to the zygote and each worker alike (rlimits are inherited through fork).

The hardened sandbox (Linux, Debian's ``bwrap``):

* new IPC, PID, network, UTS and cgroup namespaces; no network devices at all; the zygote is
  the PID namespace's init, which the workers cannot signal or trace;
* read-only system (``/usr``, ``/lib*``, ``/bin``), read-only Python and
  virtualenv, read-only toolkit code (``mlplab``) and provided helpers
  (``labutils`` from the *release*), a private tmpfs ``/tmp``, one writable
  scratch dir; nothing else of the host (no course dir, no gradebook, no
  source notebooks, no ``grader_tests``, no other submissions);
* a clean environment, ``--die-with-parent`` and ``--new-session``;
* a non-root uid with no capabilities. When the grader runs as root, bwrap is
  started without a user namespace and ``setpriv`` switches to the sandbox uid
  with an empty bounding set (a root-mapped user namespace would keep root's
  power over read-only binds); otherwise ``--unshare-all --cap-drop ALL``;
* rlimits: address space, CPU seconds, file size, open files, processes, no core.

The plain mode (``unsafe=True``) runs the same worker as a subprocess with the
same rlimits and clean environment but no isolation; it exists for machines
without bubblewrap and must be asked for explicitly.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import mlplab

SANDBOX_UID_BASE = 62000
PACKAGE_MOUNT = "/opt/mlplab"
SCRATCH = "/scratch"


class SandboxUnavailable(RuntimeError):
    """The hardened sandbox cannot run here (no bubblewrap)."""


@dataclass
class Limits:
    """Resource limits of one worker process."""

    address_space_mb: int = 4096
    cpu_seconds: int = 120
    file_size_mb: int = 64
    open_files: int = 256
    processes: int = 64
    call_timeout_s: float = 10.0
    load_timeout_s: float = 15.0
    load_budget_s: float = 45.0
    preload_timeout_s: float = 180.0
    task_timeout_s: float = 60.0
    submission_timeout_s: float = 600.0


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


def _set_rlimits(limits: Limits) -> None:
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limits.address_space_mb * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size_mb * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if os.geteuid() != 0:
        # as root the limit is applied after setpriv switches uid (see worker_command)
        resource.setrlimit(resource.RLIMIT_NPROC, (zygote_process_limit(limits),) * 2)


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
    """Directories the worker's interpreter needs: base prefix and the virtualenv."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    return sorted(roots)


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
    return f"import sys; sys.path[:0] = {paths!r}; from mlplab.sandbox.zygote import serve; serve()"


def make_scratch(slot: int) -> Path:
    """A fresh scratch directory owned by the sandbox uid (when root)."""
    scratch = Path(tempfile.mkdtemp(prefix="mlplab-scratch-"))
    if os.geteuid() == 0:
        uid = sandbox_uid(slot)
        os.chown(scratch, uid, uid)
    scratch.chmod(0o700)
    return scratch


def worker_command(config: SandboxConfig, scratch: Path) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that start one sandbox (its zygote: the fork server of the workers)."""
    package_dir = Path(mlplab.__file__).resolve().parent
    labutils = config.labutils_dir.resolve() if config.labutils_dir else None
    if config.unsafe:
        boot = worker_bootstrap(str(package_dir.parent), str(labutils.parent) if labutils else None)
        return [sys.executable, "-I", "-c", boot], _worker_env(config, str(scratch))
    bwrap = bwrap_path()
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, so student code cannot be sandboxed. "
            "Install it (Debian/Ubuntu: apt-get install bubblewrap; `make setup` does this as root), "
            "or pass --unsafe-no-sandbox to grade without isolation on a machine you trust."
        )
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
    # /proc, /dev and the private /tmp first: later binds may live below /tmp (a course cloned there)
    argv += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
    for system_dir in ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/libx32", "/sbin"):
        if os.path.isdir(system_dir):
            argv += ["--ro-bind", system_dir, system_dir]
    for root in _python_roots():
        if str(root).startswith(("/usr/", "/bin/", "/lib/")):
            continue
        argv += _parents_dirs(root) + ["--ro-bind", str(root), str(root)]
    argv += ["--perms", "0755", "--dir", PACKAGE_MOUNT]
    argv += ["--ro-bind", str(package_dir), f"{PACKAGE_MOUNT}/mlplab"]
    labutils_parent = None
    if labutils is not None:
        argv += ["--perms", "0755", "--dir", f"{PACKAGE_MOUNT}/provided"]
        argv += ["--ro-bind", str(labutils), f"{PACKAGE_MOUNT}/provided/labutils"]
        labutils_parent = f"{PACKAGE_MOUNT}/provided"
    argv += ["--bind", str(scratch), SCRATCH, "--chdir", SCRATCH, "--clearenv"]
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
    argv += [sys.executable, "-I", "-c", worker_bootstrap(PACKAGE_MOUNT, labutils_parent)]
    return argv, {}


def preexec(config: SandboxConfig):
    """preexec_fn for subprocess: rlimits in the child before exec."""

    def _apply() -> None:
        _set_rlimits(config.limits)

    return _apply
