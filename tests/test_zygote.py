"""The submission's zygote: workers forked from one sandbox, isolated from each other and from it."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from mlplab.notebooks import CodeUnit
from mlplab.sandbox.host import launch as sandbox
from mlplab.sandbox.host.launch import SandboxConfig
from mlplab.sandbox.host.pool import Forkserver, preload_modules, provided_modules, zygote_modules
from mlplab.sandbox.host.remote_student import RemoteStudent
from mlplab.sandbox.student import StudentTimeout

from .helpers.paths import RELEASE, ROOT
from .helpers.sandbox import FORK_LOOP, sandbox_uid_processes_gone
from .helpers.slots import slot

pytestmark = [pytest.mark.needs_root]

PROBE = textwrap.dedent(
    """
    import os, signal

    stash = []

    def remember(value):
        stash.append(value)
        return len(stash)

    def pids():
        return os.getpid(), os.getppid()

    def kill_parent_and_init():
        for pid in (os.getppid(), 1):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGSTOP):
                try:
                    os.kill(pid, signum)
                except OSError:
                    pass
        return "sent"

    def open_parent_memory():
        # opening is the access check (ptrace mode): reading offset 0 would fail anyway (unmapped)
        try:
            with open(f"/proc/{os.getppid()}/mem", "rb"):
                return "opened"
        except OSError as exc:
            return type(exc).__name__

    def open_own_memory():
        try:
            with open("/proc/self/mem", "rb"):
                return "opened"
        except OSError as exc:
            return type(exc).__name__

    def hang():
        while True:
            pass
    """
)


def config(**limits) -> SandboxConfig:
    cfg = SandboxConfig(labutils_dir=RELEASE / "labutils", slot=slot(2))
    for key, value in limits.items():
        setattr(cfg.limits, key, value)
    return cfg


@pytest.fixture
def forkserver():
    server = Forkserver(config(call_timeout_s=1.0))
    yield server
    server.close()


def student(server: Forkserver, *units: CodeUnit) -> RemoteStudent:
    return RemoteStudent([CodeUnit("probe", PROBE), *units], server.config, forkserver=server)


def test_workers_of_a_submission_are_forks_of_one_zygote_with_separate_namespaces(forkserver):
    a, b = student(forkserver), student(forkserver)
    (pid_a, parent_a), (pid_b, parent_b) = a.call("pids"), b.call("pids")
    assert pid_a != pid_b and parent_a == parent_b, "both workers should be children of the same zygote"
    assert a.call("remember", 1) == 1 and a.call("remember", 2) == 2
    assert b.call("remember", 3) == 1, "a worker saw another worker's objects"
    assert len(forkserver._zygotes) == 1
    a.close()
    b.close()


def zygote_states(zygote, seconds: float) -> set[str]:
    """The zygote's process states (``/proc/PID/stat``) seen from the host, polled for ``seconds``."""
    states = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pids = zygote.zygote_pids()
        if not pids:
            states.add("gone")
        for pid in pids:
            try:
                states.add(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0])
            except OSError:
                states.add("gone")
        time.sleep(0.02)
    return states


def test_a_worker_cannot_kill_stop_or_trace_the_zygote(forkserver):
    a, b = student(forkserver), student(forkserver)
    b_pid = b.call("pids")[0]
    assert a.call("open_own_memory") == "opened", "the probe itself must be able to succeed"
    assert a.call("open_parent_memory") == "PermissionError"
    zygote = next(iter(forkserver._zygotes.values()))
    assert a.call("kill_parent_and_init") == "sent"
    states = zygote_states(zygote, 1.0)
    assert states <= {"S", "R"}, f"the zygote was killed or stopped from a worker: {states}"
    assert b.call("pids")[0] == b_pid, "killing the zygote from a worker took another worker down"
    fresh = student(forkserver)
    assert fresh.call("remember", 1) == 1, "the zygote no longer forks workers"
    assert forkserver.shared
    for s in (a, b, fresh):
        s.close()


def test_a_fork_loop_in_one_worker_leaves_the_zygote_room_for_the_others(forkserver):
    bomber = student(forkserver, CodeUnit("forks", FORK_LOOP))
    made = bomber.call("forks")
    assert 0 < made < forkserver.config.limits.processes, "the worker's own process limit should stop the loop"
    others = [student(forkserver) for _ in range(3)]
    assert [s.call("remember", 1) for s in others] == [1, 1, 1], "the zygote could not fork new workers"
    for s in (bomber, *others):
        s.close()


def test_a_hanging_worker_is_killed_alone_and_replaced(forkserver):
    a, b = student(forkserver), student(forkserver)
    b_pid = b.call("pids")[0]
    a_pid = a.call("pids")[0]
    with pytest.raises(StudentTimeout):
        a.call("hang")
    assert a.call("pids")[0] != a_pid, "the hanging worker should have been replaced"
    assert b.call("pids")[0] == b_pid
    a.close()
    b.close()


def test_a_dead_zygote_costs_no_cell_and_later_workers_get_their_own_sandbox(forkserver):
    slow = CodeUnit("slow", "import time\ntime.sleep(1.5)\ndef f():\n    return 7")
    first = student(forkserver)
    first.call("pids")
    zygote = next(iter(forkserver._zygotes.values()))
    loading = student(forkserver, slow)
    result: dict = {}

    def load() -> None:
        try:
            result["value"] = loading.call("f")
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            result["error"] = exc

    thread = threading.Thread(target=load)
    thread.start()
    time.sleep(0.7)  # "slow" is loading in a worker of the shared zygote
    for pid in zygote.zygote_pids():
        os.kill(pid, signal.SIGKILL)
    thread.join(30)
    assert result.get("value") == 7, result
    assert loading.skipped == set(), "a cell was blamed for the zygote's death"
    assert not forkserver.shared
    assert first.call("remember", 1) == 1, "the worker that died with the zygote should have been replaced"
    first.close()
    loading.close()


def test_preloaded_libraries_follow_the_imports_of_the_code():
    torch_units = [CodeUnit("imports", "import numpy as np\nimport torch\nfrom torch import nn")]
    assert preload_modules(torch_units) == ["numpy", "torch", "torch._dynamo"]
    assert preload_modules([CodeUnit("imports", "import numpy as np")]) == ["numpy"]
    assert preload_modules([CodeUnit("defs", "def f():\n    return 1")]) == []


def test_killing_the_grading_process_ends_the_sandbox_and_all_its_workers(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from mlplab.notebooks import CodeUnit
        from mlplab.sandbox.host.launch import SandboxConfig
        from mlplab.sandbox.host.pool import Forkserver
        from mlplab.sandbox.host.remote_student import RemoteStudent
        server = Forkserver(SandboxConfig(slot={slot(3)}))
        students = [RemoteStudent([CodeUnit("f", "def f():\\n    return 1")], server.config, forkserver=server)
                    for _ in range(2)]
        print(sum(s.call("f") for s in students), flush=True)
        time.sleep(600)
        """
    )
    grader = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert grader.stdout.readline().strip() == "2"
    uid = sandbox.sandbox_uid(slot(3))
    assert not sandbox_uid_processes_gone(uid, wait_s=0.2), "expected running workers"
    grader.kill()
    grader.wait()
    assert sandbox_uid_processes_gone(uid), "sandbox processes outlived the grading process"


HELPER_IMPORTS = textwrap.dedent(
    """
    import numpy as np
    import matplotlib.pyplot as plt
    from IPython.display import Markdown, display
    from labutils import rel_error
    from labutils.data import subsample
    from labutils.plotting import plot_loss
    """
)
SNAPSHOT = textwrap.dedent(
    """
    import sys

    # what the zygote imported before this worker ran any cell
    PRELOADED = sorted(name for name in sys.modules if name == "labutils" or name.startswith("labutils."))
    # a placeholder whose code has not run yet still has the zygote's __getattr__ and none of its own names
    OWN_NAME = {"matplotlib": "rcParams", "matplotlib.pyplot": "plot", "IPython": "version_info"}
    NOT_RUN_YET = sorted(name for name, own in OWN_NAME.items()
                         if name in sys.modules and own not in vars(sys.modules[name]))

    def preloaded():
        return PRELOADED

    def not_run_yet():
        return NOT_RUN_YET
    """
)
USE = textwrap.dedent(
    """
    def draw():
        figure = plot_loss([3.0, 2.0, 1.5])
        return type(figure).__name__, len(figure.axes), type(plt.gca()).__name__

    def matplotlib_ran():
        import matplotlib
        return "rcParams" in vars(matplotlib), "plot" in vars(plt)

    def markdown():
        return type(Markdown("**x**")).__name__, callable(display)

    def ipython_version():
        import IPython
        return isinstance(IPython.version_info, tuple)
    """
)


def test_the_zygote_imports_the_course_helpers_once_and_matplotlib_and_ipython_only_on_first_use(forkserver):
    units = [CodeUnit("snapshot", SNAPSHOT), CodeUnit("imports", HELPER_IMPORTS), CodeUnit("use", USE)]
    first = RemoteStudent(units, forkserver.config, forkserver=forkserver)
    assert first.load_errors() == []
    # imported in the zygote (before the worker's first cell), so no worker imports them again
    assert {"labutils", "labutils.data", "labutils.plotting"} <= set(first.call("preloaded"))
    # matplotlib, pyplot and IPython's package exist but have not run (a grader never plots)...
    assert first.call("not_run_yet") == ["IPython", "matplotlib", "matplotlib.pyplot"]
    assert first.call("matplotlib_ran") == (False, False)
    assert first.call("markdown") == ("Markdown", True)  # IPython.display itself is real
    # ...and run, whole, on first use: the helpers' plotting works as in the notebook
    assert first.call("draw") == ("Figure", 1, "Axes")
    assert first.call("matplotlib_ran") == (True, True)
    assert first.call("ipython_version") is True
    # the next worker of the same zygote starts from the zygote's state, not the first worker's
    second = RemoteStudent(units, forkserver.config, forkserver=forkserver)
    assert second.call("matplotlib_ran") == (False, False)
    assert second.call("draw") == ("Figure", 1, "Axes")
    first.close()
    second.close()


def test_only_modules_of_the_course_helper_package_are_preloaded():
    helpers = RELEASE / "labutils"
    units = [
        CodeUnit("imports", "from labutils import rel_error\nimport labutils.stats as st\n"
                            "from labutils.nothere import x\nfrom labutilsx import y\n"),
        CodeUnit("code", "def f():\n    from labutils.data import subsample\n    return subsample\n"),
        CodeUnit("text", "s = 'from labutils.training import accuracy'\n"),
    ]
    assert provided_modules(units, helpers) == ["labutils", "labutils.stats", "labutils.data"]
    assert provided_modules(units, None) == []
    assert zygote_modules([CodeUnit("imports", "import numpy as np\nfrom labutils import rel_error")], helpers) == [
        "numpy", "labutils"]
