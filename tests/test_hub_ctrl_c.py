"""``mlplab hub --demo`` stops every process it started within 10 s of Ctrl-C.

The real command in its own session, as a terminal runs it: the hub, configurable-http-proxy, the grading
service, a student's single-user server (started by logging in) and the service's grading processes with
their sandboxes (three submissions dropped into the exchange) are all running when SIGINT reaches the
command's process group. Needs root (useradd) and ``make hub-deps``, as ``tests/test_service_hub.py``:
missing, the test fails with the fix, never skips.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from mlplab.service.hub import STOP_DEADLINE_S, descendants, free_port, proxy_command

from .helpers.submissions import build
from .helpers.waiting import wait_for

# a real hub and proxy (make hub-deps)
pytestmark = [pytest.mark.needs_root, pytest.mark.needs_browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
STUDENT = "mlp-ada"  # the demo's own accounts (the command has no --prefix)
START_TIMEOUT_S = 240


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _log_in(base: str, user: str, password: str) -> None:
    """Log in through the hub's form; the hub then spawns the user's single-user server."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{base}/hub/login", timeout=30).read()
    xsrf = next(cookie.value for cookie in jar if cookie.name == "_xsrf")
    form = urllib.parse.urlencode({"username": user, "password": password, "_xsrf": xsrf}).encode()
    opener.open(f"{base}/hub/login", data=form, timeout=150).read()


def _drop_submissions(inbound: Path, source: Path, students: list[str]) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S.000000 UTC", time.gmtime())
    for student in students:
        staging = inbound.parent / f".staging-{student}"
        staging.mkdir()
        for notebook in source.glob("*.ipynb"):
            shutil.copyfile(notebook, staging / notebook.name)
        (staging / "timestamp.txt").write_text(stamp)
        (staging / "submission_secret.txt").write_text("test")
        staging.rename(inbound / f"{student}+mlp+{stamp}+ctrlc")


def test_ctrl_c_stops_hub_proxy_service_servers_and_grading_within_10_s(tmp_path):
    if os.geteuid() != 0:
        pytest.fail("the demo creates Unix students with useradd: run this test as root (CI does)", pytrace=False)
    try:
        proxy_command()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    folder = Path(tempfile.mkdtemp(prefix="mlplab-hub-ctrlc-"))  # students' servers must reach it (not 0700)
    folder.chmod(0o755)
    source = build(tmp_path / "submission", stems=("01_layers", "02_normalization", "03_fc_net", "04_optim_solver"))
    env = dict(os.environ, MLPLAB_SLOT_BASE="340", PYTHONUNBUFFERED="1")
    log = open(tmp_path / "hub.out", "w+")  # noqa: SIM115 - read while the command runs
    cmd = [sys.executable, "-m", "mlplab", "hub", "--demo", "--dir", str(folder / "demo"), "--port", str(free_port())]
    # its own session and process group, with SIGINT at its default: what a terminal's foreground job gets
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        text = wait_for(lambda: "JupyterHub ready" in Path(log.name).read_text() and Path(log.name).read_text(),
                        START_TIMEOUT_S, "the demo hub to start")
        base = re.search(r"at (http://127\.0\.0\.1:\d+)", text).group(1)
        password = re.search(rf"{STUDENT}\s+password (\S+)", text).group(1)
        _log_in(base, STUDENT, password)
        wait_for(lambda: any("jupyterhub-singleuser" in _cmdline(p) for p in descendants(proc.pid)), 120,
                 f"{STUDENT}'s single-user server")
        inbound = folder / "demo" / "exchange" / "mlp-lab" / "inbound"
        _drop_submissions(inbound, source, ["mlp-ada", "mlp-bob", "mlp-cy"])
        wait_for(lambda: any(_cmdline(p).startswith("/usr/bin/bwrap") for p in descendants(proc.pid)), 60,
                 "the service to grade (a sandbox running)")
        running = {pid: _cmdline(pid) for pid in descendants(proc.pid) if _running(pid)}
        kinds = {
            "hub": "jupyterhub -f", "proxy": "configurable-http-proxy", "service": "mlplab serve",
            "single-user server": "jupyterhub-singleuser", "sandbox": "bwrap",
        }
        for kind, needle in kinds.items():
            assert any(needle in line for line in running.values()), f"no {kind} running before Ctrl-C: {running}"

        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        pressed = time.monotonic()
        code = proc.wait(timeout=STOP_DEADLINE_S + 20)
        stopped_in = time.monotonic() - pressed
        left = {pid: line for pid, line in running.items() if _running(pid) and _cmdline(pid) == line}
        assert not left, f"still running after Ctrl-C: {left}"
        assert code == 0, Path(log.name).read_text()[-3000:]
        assert stopped_in <= STOP_DEADLINE_S, f"the demo took {stopped_in:.1f} s to stop (promised {STOP_DEADLINE_S} s)"
        students = subprocess.run(["pgrep", "-u", STUDENT], capture_output=True, text=True).stdout.split()
        assert not students, f"processes of {STUDENT} left after Ctrl-C: {students}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for pid in descendants(os.getpid()):
            if "mlplab-hub-ctrlc-" in _cmdline(pid):
                os.kill(pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
