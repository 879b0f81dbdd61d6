"""The sandboxed worker: what student code can and cannot do from inside it."""

import contextlib
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlplab.notebooks import CodeUnit
from mlplab.sandbox.host import launch as sandbox
from mlplab.sandbox.host.launch import Limits, SandboxConfig, SandboxUnavailable
from mlplab.sandbox.host.remote_student import RemoteStudent
from mlplab.sandbox.student import StudentCrash, StudentError, StudentTimeout

from .helpers.paths import RELEASE, ROOT
from .helpers.sandbox import FORK_LOOP, sandbox_uid_processes_gone
from .helpers.slots import slot

pytestmark = [pytest.mark.needs_root]

SLOT = slot(1)

PROBE = textwrap.dedent(
    """
    import errno, os, socket, subprocess

    def uid():
        return os.getuid(), os.getgid()

    def status_caps():
        return {l.split(":")[0]: l.split()[1] for l in open("/proc/self/status") if l.startswith("Cap")}

    def try_write(path):
        try:
            with open(path, "w") as fh:
                fh.write("x")
            return "written"
        except OSError as exc:
            return errno.errorcode.get(exc.errno, type(exc).__name__)

    def try_read(path):
        try:
            with open(path, "rb") as fh:
                return len(fh.read())
        except OSError as exc:
            return type(exc).__name__

    def try_connect(host="1.1.1.1", port=80):
        try:
            with socket.create_connection((host, port), timeout=2) as conn:
                return conn.recv(64).decode()  # what the listener says: only a real connection gets it
        except OSError as exc:
            return type(exc).__name__

    def oom_score_adj():
        with open("/proc/self/oom_score_adj") as fh:
            return int(fh.read())

    def interfaces():
        with open("/proc/net/dev") as fh:
            return sorted(line.split(":")[0].strip() for line in fh.readlines()[2:])

    def allocate(megabytes):
        import numpy as np
        return int(np.empty(megabytes * 2**20, dtype=np.uint8).size // 2**20)

    def try_remount(path):
        return subprocess.run(["mount", "-o", "remount,rw", path], capture_output=True).returncode
    """
)


def make_student(code: str, **limits) -> RemoteStudent:
    config = SandboxConfig(labutils_dir=RELEASE / "labutils", limits=Limits(**limits), slot=SLOT)
    return RemoteStudent([CodeUnit("probe", PROBE), CodeUnit("student", textwrap.dedent(code))], config)


@pytest.fixture
def probe():
    student = make_student("")
    yield student
    student.close()


def test_worker_runs_as_non_root_without_capabilities(probe):
    uid, gid = probe.call("uid")
    assert uid != 0 and gid != 0
    caps = probe.call("status_caps")
    assert all(int(v, 16) == 0 for v in caps.values()), caps


def host_addresses() -> list[str]:
    addresses = {"127.0.0.1"}
    with contextlib.suppress(OSError):
        addresses.update(info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET))
    return sorted(addresses)


def test_network_reaches_neither_the_hosts_loopback_nor_its_addresses(probe, host_listener):
    port, greeting = host_listener
    for address in host_addresses():
        with socket.create_connection((address, port), timeout=2) as conn:  # the target is real
            assert conn.recv(64).decode() == greeting
        assert probe.call("try_connect", address, port) != greeting, f"the sandbox reached {address}:{port}"
    assert probe.call("interfaces") == ["lo"], "the sandbox should see no network device but its own loopback"


def test_the_oom_killer_picks_a_worker_first_then_its_zygote_before_anything_of_the_host(probe):
    assert probe.call("oom_score_adj") == sandbox.WORKER_OOM_SCORE_ADJ == 1000
    zygote = next(iter(probe.forkserver._zygotes.values()))
    (pid,) = zygote.zygote_pids()
    assert int(Path(f"/proc/{pid}/oom_score_adj").read_text()) == sandbox.ZYGOTE_OOM_SCORE_ADJ
    assert 0 < sandbox.ZYGOTE_OOM_SCORE_ADJ < sandbox.WORKER_OOM_SCORE_ADJ


def test_course_files_gradebook_and_graders_are_invisible(probe):
    for path in [
        ROOT / "nbgrader_config.py",
        ROOT / "gradebook.db",
        ROOT / "grader_tests" / "conftest.py",
        ROOT / "source" / "mlp" / "01_layers.ipynb",
        ROOT.parent / "shared" / "DESIGN.md",
    ]:
        assert probe.call("try_read", str(path)) == "FileNotFoundError", path


def test_system_and_virtualenv_are_read_only_mounts_and_cannot_be_remounted(probe):
    """EROFS, not EACCES: a non-root uid could not write there anyway; the mount itself must be read-only."""
    venv_file = os.path.join(os.path.realpath(sys.prefix), "evil")
    assert probe.call("try_write", "/usr/evil") == "EROFS"
    assert probe.call("try_write", "/usr/lib/os-release") == "EROFS"
    assert probe.call("try_write", venv_file) == "EROFS"
    assert probe.call("try_write", "/dev/evil") == "EROFS"
    assert probe.call("try_remount", "/usr") != 0
    assert probe.call("try_write", "/scratch/ok.txt") == "written"
    assert probe.call("try_write", "/tmp/ok.txt") == "written"


def test_sleeping_forever_is_stopped_by_the_call_timeout():
    student = make_student("import time\ndef hang():\n    time.sleep(3600)", call_timeout_s=1.0)
    with pytest.raises(StudentTimeout):
        student.call("hang")
    assert student.call("interfaces") == ["lo"]  # a fresh worker answers afterwards
    student.close()


def test_sigint_ignoring_busy_loop_is_killed():
    code = "import signal\ndef spin():\n    signal.signal(signal.SIGINT, signal.SIG_IGN)\n    while True:\n        pass"
    student = make_student(code, call_timeout_s=1.0)
    with pytest.raises(StudentTimeout):
        student.call("spin")
    student.close()


def test_os_exit_is_reported_as_a_crash_not_a_hang():
    student = make_student("import os\ndef leave():\n    os._exit(3)")
    with pytest.raises(StudentCrash, match="exited with code 3"):
        student.call("leave")
    student.close()


def test_an_allocation_just_above_the_default_address_space_cap_fails_and_one_below_it_works(probe):
    cap = Limits().address_space_mb
    assert probe.call("allocate", cap - 1200) == cap - 1200  # untouched pages: the cap, not the host, decides
    with pytest.raises(StudentError, match="MemoryError|Unable to allocate"):
        probe.call("allocate", cap + 64)


def test_a_file_just_above_the_default_file_size_limit_fails_with_file_too_large(probe):
    code = (
        "def fill(megabytes):\n"
        "    with open('/scratch/big', 'wb') as fh:\n"
        "        for _ in range(megabytes):\n"
        "            fh.write(b'0' * 2**20)\n"
        "    return megabytes"
    )
    student = make_student(code)
    cap = Limits().file_size_mb
    assert student.call("fill", cap - 1) == cap - 1
    with pytest.raises(StudentError, match="File too large"):
        student.call("fill", cap + 1)
    student.close()


def test_fork_loop_is_bounded_by_the_default_process_limit():
    student = make_student(FORK_LOOP)
    made = student.call("forks")
    assert 0 < made < Limits().processes
    student.close()
    assert sandbox_uid_processes_gone(sandbox.sandbox_uid(SLOT)), "processes of the sandbox uid survived the worker"


def test_megabytes_of_stdout_do_not_reach_the_channel():
    student = make_student("def noisy():\n    print('All tests passed\\n' * 200000)\n    return 42")
    assert student.call("noisy") == 42
    student.close()


def test_hardened_mode_refuses_to_run_without_bubblewrap(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    with pytest.raises(SandboxUnavailable, match="--unsafe-no-sandbox"):
        sandbox.worker_command(SandboxConfig(), tmp_path)
    argv, _ = sandbox.worker_command(SandboxConfig(unsafe=True), tmp_path)
    assert "bwrap" not in argv[0]


def test_mlplab_grade_refuses_without_bubblewrap_and_says_how_to_fix_it(tmp_path):
    fake_path = tmp_path / "bin"
    fake_path.mkdir()
    for tool in ("python3",):
        (fake_path / tool).symlink_to(sys.executable)
    env = dict(os.environ, PATH=str(fake_path))
    proc = subprocess.run(
        [sys.executable, "-m", "mlplab", "grade", str(RELEASE / "01_layers.ipynb"), "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert "bubblewrap" in proc.stderr and "--unsafe-no-sandbox" in proc.stderr


def test_a_hanging_cell_is_skipped_and_the_cells_around_it_still_load():
    config = SandboxConfig(labutils_dir=RELEASE / "labutils", limits=Limits(load_timeout_s=1.0), slot=SLOT)
    units = [
        CodeUnit("first", "def f():\n    return 1"),
        CodeUnit("hangs", "import time\ntime.sleep(3600)"),
        CodeUnit("last", "def g():\n    return 2"),
    ]
    student = RemoteStudent(units, config)
    assert (student.call("f"), student.call("g")) == (1, 2)
    assert student.skipped == {"hangs"}
    assert any("hangs: running this cell took longer" in note for note in student.notes)
    student.close()


def test_a_path_the_sandbox_cannot_bind_is_named_in_one_sentence(tmp_path):
    missing = tmp_path / "release" / "labutils"
    with pytest.raises(SandboxUnavailable, match="cannot bind the provided helpers") as info:
        sandbox.worker_command(SandboxConfig(labutils_dir=missing))
    assert str(missing) in str(info.value) and "\n" not in str(info.value)


def test_a_limit_above_the_accounts_hard_limit_is_named_before_the_sandbox_starts(monkeypatch):
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 1000)  # as a non-root instructor
    limits = Limits(open_files=10**9)
    with pytest.raises(SandboxUnavailable, match="open files limit"):
        sandbox.check_rlimits(limits)


def test_a_sandbox_that_cannot_start_says_why_instead_of_zygote_lost(tmp_path):
    """bwrap refuses (here: a mount point it cannot create); `mlplab grade` prints bwrap's reason in one line."""
    submission = tmp_path / "01_layers.ipynb"
    submission.write_bytes((RELEASE / "01_layers.ipynb").read_bytes())
    script = textwrap.dedent(
        f"""
        import sys
        from mlplab.sandbox.host import launch
        launch.SCRATCH = "/proc/no-such-dir/scratch"
        from mlplab.cli import main
        sys.exit(main(["grade", {str(submission)!r}, "--json"]))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "Traceback" not in proc.stderr and "ZygoteLost" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "the sandbox could not start: bwrap:" in lines[0], proc.stderr


def test_a_worker_over_the_submissions_memory_budget_fails_its_call_with_a_clear_message():
    from mlplab.sandbox.host import budget

    why = budget.probe(64)
    if why:
        pytest.skip(f"this kernel gives no memory cgroup here ({why})")
    student = make_student("import numpy as np\ndef grab(mb):\n    return float(np.ones(mb * 2**20 // 8).sum())",
                           memory_mb=300)
    assert student.call("grab", 50) == 50 * 2**20 // 8
    with pytest.raises(StudentCrash, match="300 MB memory budget"):
        student.call("grab", 400)  # under the 4 GB address-space cap: only the budget stops it
    assert student.call("grab", 50) == 50 * 2**20 // 8, "a fresh worker should answer after the kill"
    student.close()


@pytest.mark.parametrize("modules", [(), ("numpy",)], ids=["first-contact-fork", "first-contact-preload"])
def test_a_sandbox_that_cannot_start_raises_the_start_error_not_zygote_lost(monkeypatch, modules):
    from mlplab.sandbox.host.pool import Forkserver
    from mlplab.sandbox.host.protocol import SandboxStartError

    monkeypatch.setattr(sandbox, "SCRATCH", "/proc/no-such-dir/scratch")
    server = Forkserver(SandboxConfig(slot=SLOT))
    with pytest.raises(SandboxStartError, match="the sandbox could not start: bwrap: Can't mkdir"):
        server.new_worker(modules)
    assert isinstance(server.start_error, SandboxStartError)
    server.close()
