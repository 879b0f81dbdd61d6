"""``mlplab hub --demo``: a local JupyterHub (loopback only) with the course, the grading service, an
instructor and three students, for trying feedback on submit end to end.

What it starts, all under ``--dir`` (default ``hub-demo/``):

- a scratch copy of the course (config, ``source/``, ``grader_tests/``, ``release/``) with its own
  gradebook, the assignment released into its own nbgrader exchange (``exchange/``, world-writable
  inbound as nbgrader requires);
- one Unix account per person (``useradd``; needs root), because nbgrader names a submission after the
  Unix user and single-user servers run as that user (LocalProcessSpawner, as on The Littlest JupyterHub);
- JupyterHub with configurable-http-proxy, a password login (printed), the hub group ``instructors``,
  and the managed service ``grader`` (``mlplab serve``) with its role.

Ctrl-C (or SIGTERM) stops the hub, which stops the proxy, the service and every single-user server;
whatever of them is still running :data:`STOP_GRACE_S` seconds later is killed, and so is every other
process the demo started (the service's grading processes and their sandboxes included), so that
nothing is left :data:`STOP_DEADLINE_S` seconds after Ctrl-C (see :func:`stop_everything`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from jupyterhub.auth import Authenticator
from traitlets import Dict

SERVICE = "grader"
GROUP = "instructors"
STUDENTS = ("ada", "bob", "cy")
COURSE_PARTS = ("source", "grader_tests", "release")
STOP_GRACE_S = 6.0  # the hub's own orderly shutdown; then everything left is killed
STOP_DEADLINE_S = 10.0  # promised in the guide: nothing of the demo runs this long after Ctrl-C
# the hub stops each single-user server with SIGINT, then SIGTERM, then SIGKILL after these many seconds
# (JupyterHub's defaults, 10 + 5 + 5, would let one slow server keep the demo alive 20 s after Ctrl-C)
SPAWNER_STOP_TIMEOUTS = {"interrupt_timeout": 2, "term_timeout": 1, "kill_timeout": 1}
PR_SET_CHILD_SUBREAPER = 36


class DemoAuthenticator(Authenticator):
    """Password login for the demo's accounts (``passwords``: user name -> password)."""

    passwords = Dict(help="user name -> password").tag(config=True)

    async def authenticate(self, handler, data):
        name, password = data.get("username", ""), data.get("password", "")
        expected = self.passwords.get(name)
        if expected is not None and secrets.compare_digest(expected, password):
            return name
        return None


@dataclass
class Account:
    name: str
    password: str
    role: str


class DemoError(RuntimeError):
    """The demo cannot start (the message says what is missing)."""


def proxy_command() -> list[str]:
    """configurable-http-proxy: ``$MLPLAB_CHP``, the copy ``make test`` installs beside the venv, or PATH."""
    candidates = [os.environ.get("MLPLAB_CHP", ""),
                  str(Path(sys.prefix) / "chp" / "node_modules" / ".bin" / "configurable-http-proxy")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return [candidate]
    found = shutil.which("configurable-http-proxy")
    if found:
        return [found]
    raise DemoError(
        "configurable-http-proxy is not installed: run `make hub-deps` (npm install into .venv/chp) "
        "or `npm install -g configurable-http-proxy`"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_unix_user(name: str) -> None:
    """Create the Unix account ``name`` (with a home) unless it exists."""
    import pwd

    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    if os.geteuid() != 0:
        raise DemoError(f"the demo creates Unix accounts for its users (useradd {name}): run it as root")
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True, capture_output=True)


def prepare_course(source_root: Path, course: Path, exchange: Path, attempts: int | None) -> str:
    """A scratch course under ``course`` with the assignment generated and released into ``exchange``."""
    from mlplab.course.generate import nbgrader

    course.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source_root / "nbgrader_config.py", course / "nbgrader_config.py")
    for part in COURSE_PARTS:
        shutil.rmtree(course / part, ignore_errors=True)
        shutil.copytree(source_root / part, course / part, ignore=shutil.ignore_patterns("__pycache__"))
    lines = [
        "",
        "# added by `mlplab hub --demo`: the course's own exchange and the grading service's policy",
        f"c.Exchange.root = {str(exchange)!r}",
        f"c.GradingService.instructor_group = {GROUP!r}",
    ]
    if attempts is not None:
        lines.append(f"c.GradingService.attempts_per_window = {int(attempts)}")
    with open(course / "nbgrader_config.py", "a") as config:
        config.write("\n".join(lines) + "\n")
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    exchange.mkdir(parents=True, exist_ok=True)
    exchange.chmod(0o777)
    nbgrader(course, "generate_assignment", "mlp", "--force", db_url=db_url)
    nbgrader(course, "release_assignment", "mlp", "--force", db_url=db_url)
    return db_url


def student_config(folder: Path, exchange: Path, course_id: str) -> Path:
    """The nbgrader config students' servers read (course id and exchange), via JUPYTER_CONFIG_PATH."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {course_id!r}\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
    )
    folder.chmod(0o755)
    (folder / "nbgrader_config.py").chmod(0o644)
    return folder


def hub_config(*, state: Path, course: Path, exchange: Path, accounts: list[Account], port: int,
               service_port: int, config_path: Path, rescan_s: float) -> str:
    """The text of jupyterhub_config.py for the demo (the production snippet in the docs follows it)."""
    venv_bin = Path(sys.executable).parent
    env_keep = {k: os.environ[k] for k in ("MLPLAB_DATA", "MLPLAB_SLOT_BASE", "MLPLAB_QUICK") if k in os.environ}
    service_env = {"PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin", "MLPLAB_COURSE_ROOT": str(course), **env_keep}
    students = [a.name for a in accounts if a.role == "student"]
    instructors = [a.name for a in accounts if a.role == "instructor"]
    passwords = {a.name: a.password for a in accounts}
    config = {
        "port": port,
        "hub_port": free_port(),
        "proxy_api": free_port(),
        "chp": proxy_command(),
        "state": str(state),
        "passwords": passwords,
        "users": students + instructors,
        "instructors": instructors,
        "singleuser": str(venv_bin / "jupyterhub-singleuser"),
        "spawn_env": {"JUPYTER_CONFIG_PATH": str(config_path), "MLPLAB_QUICK": "1",
                      "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin"},
        "service_cmd": [sys.executable, "-m", "mlplab", "serve", "--course", str(course),
                        "--exchange", str(exchange), "--rescan", str(rescan_s)],
        "service_env": service_env,
        "service_port": service_port,
        "stop_timeouts": SPAWNER_STOP_TIMEOUTS,
    }
    return f"""# jupyterhub_config.py written by `mlplab hub --demo` (loopback only)
import json
demo = json.loads({json.dumps(json.dumps(config))})
c = get_config()  # noqa: F821
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = demo["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = demo["hub_port"]
c.ConfigurableHTTPProxy.command = demo["chp"]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:%d" % demo["proxy_api"]
c.ConfigurableHTTPProxy.pid_file = demo["state"] + "/proxy.pid"
c.JupyterHub.db_url = "sqlite:///" + demo["state"] + "/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = demo["state"] + "/jupyterhub_cookie_secret"
c.JupyterHub.authenticator_class = "mlplab.service.hub.DemoAuthenticator"
c.DemoAuthenticator.passwords = demo["passwords"]
c.Authenticator.allowed_users = set(demo["users"])
c.Authenticator.admin_users = set(demo["instructors"])
# the course's instructors: a hub group, named in the course config (c.GradingService.instructor_group)
c.JupyterHub.load_groups = {{"{GROUP}": {{"users": demo["instructors"]}}}}
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [demo["singleuser"]]
c.Spawner.default_url = "/lab"
c.Spawner.environment = demo["spawn_env"]
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
for _name, _seconds in demo["stop_timeouts"].items():
    setattr(c.LocalProcessSpawner, _name, _seconds)
# the grading service, started and restarted by the hub
c.JupyterHub.services = [{{
    "name": "{SERVICE}",
    "url": "http://127.0.0.1:%d" % demo["service_port"],
    "command": demo["service_cmd"],
    "environment": demo["service_env"],
    "display": True,
    "oauth_no_confirm": True,
}}]
c.JupyterHub.load_roles = [
    # every user may log in to the grading service (it shows each student only their own attempts)
    {{"name": "user", "scopes": ["self", "access:services!service={SERVICE}"]}},
    # the service reads user names and groups to tell instructors from students
    {{"name": "{SERVICE}-service", "scopes": ["read:users:name", "read:users:groups"], "services": ["{SERVICE}"]}},
]
"""


def wait_for_hub(base: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DemoError(f"jupyterhub exited with {proc.returncode}; its log:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/hub/api/", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise DemoError(f"jupyterhub did not answer within {timeout:.0f} s; its log:\n{log.read_text()[-3000:]}")


def start_demo(folder: Path, *, port: int, prefix: str = "mlp-", attempts: int | None = None,
               rescan_s: float = 10.0, source_root: Path | None = None) -> tuple[subprocess.Popen, dict]:
    """Prepare everything and start the hub; returns the hub process and the demo's facts
    (``url``, ``accounts``, ``course``, ``exchange``, ``db_url``, ``log``)."""
    from mlplab.coursedir import course_root

    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    state = folder / "hub"
    state.mkdir(exist_ok=True)
    course, exchange = folder / "course", folder / "exchange"
    db_url = prepare_course(source_root or course_root(), course, exchange, attempts)
    accounts = [Account(f"{prefix}teacher", secrets.token_urlsafe(9), "instructor")]
    accounts += [Account(f"{prefix}{name}", secrets.token_urlsafe(9), "student") for name in STUDENTS]
    for account in accounts:
        ensure_unix_user(account.name)
    config_path = student_config(folder / "student-config", exchange, "mlp-lab")
    config_file = state / "jupyterhub_config.py"
    config_file.write_text(hub_config(state=state, course=course, exchange=exchange, accounts=accounts, port=port,
                                      service_port=free_port(), config_path=config_path, rescan_s=rescan_s))
    log = state / "jupyterhub.log"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    with open(log, "ab") as out:
        proc = subprocess.Popen([str(Path(sys.executable).with_name("jupyterhub")), "-f", str(config_file)],
                                cwd=state, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_hub(base, proc, log)
    except BaseException:
        stop_hub(proc, timeout=STOP_GRACE_S)
        raise
    facts = {"url": base, "service_url": f"{base}/services/{SERVICE}/", "course": str(course),
             "exchange": str(exchange), "db_url": db_url, "log": str(log),
             "accounts": [a.__dict__ for a in accounts]}
    (state / "demo.json").write_text(json.dumps(facts, indent=1))
    (state / "demo.json").chmod(0o600)
    return proc, facts


def stop_hub(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM the hub (it stops the proxy, the service and the servers), then SIGKILL its group if stuck."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def become_subreaper() -> bool:
    """Make this process the child subreaper of its descendants (Linux): a process the demo started whose
    parent exits (a single-user server of a hub that stopped, the service's grading process) is re-parented
    here instead of to init, so :func:`descendants` still finds it. False where the kernel refuses."""
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _parents() -> dict[int, list[int]]:
    """Parent pid -> child pids of every process now (from /proc; zombies included)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children, ...), live or zombie."""
    children = _parents()
    found: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(children.get(child, []))
    return found


def _reap_children() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass


def stop_everything(proc: subprocess.Popen | None, grace_s: float = STOP_GRACE_S,
                    deadline_s: float = STOP_DEADLINE_S) -> list[int]:
    """Stop the hub and everything the demo started, within ``deadline_s`` seconds.

    SIGTERM to the hub, which stops the single-user servers, the service and the proxy in order; after
    ``grace_s`` seconds every process still running below this one (the hub if stuck, a server, the
    service's grading processes and their sandboxes, anything re-parented here) is killed. Returns the
    pids still present at ``deadline_s`` (none, unless the kernel did not let them go).
    """
    started = time.monotonic()
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace_s)
    while True:
        _reap_children()
        left = [pid for pid in descendants(os.getpid()) if _alive(pid)]
        if not left or time.monotonic() - started > deadline_s:
            return left
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (not merely a zombie waiting to be reaped by a parent that is not us)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def run_demo(folder: Path, port: int, attempts: int | None = None) -> int:
    """``mlplab hub --demo``: start, print the logins, wait for Ctrl-C, stop everything."""
    started = time.monotonic()
    become_subreaper()
    try:
        proc, facts = start_demo(folder, port=port, attempts=attempts)
    except DemoError as exc:
        print(f"mlplab hub: {exc}", file=sys.stderr)
        stop_everything(None, grace_s=0)
        return 2
    except KeyboardInterrupt:  # Ctrl-C while starting: the hub is stopped already, sweep the rest
        print("stopped while starting; stopping everything it had started...", file=sys.stderr)
        stop_everything(None, grace_s=0)
        return 130
    print(f"JupyterHub ready in {time.monotonic() - started:.0f} s at {facts['url']}  (Ctrl-C stops everything)")
    print(f"grading service: {facts['service_url']}   (also in the hub's Services menu)")
    for account in facts["accounts"]:
        print(f"  {account['role']:<10} {account['name']:<14} password {account['password']}")
    print(f"course: {facts['course']}   exchange: {facts['exchange']}   hub log: {facts['log']}")
    stop = {"now": False}

    def request_stop(*_args) -> None:
        stop["now"] = True

    # our own handlers: a shell that started the demo in the background may have left SIGINT ignored
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    while not stop["now"] and proc.poll() is None:
        time.sleep(0.2)
    print("stopping the hub, the service and the servers...", flush=True)
    left = stop_everything(proc)
    if left:
        print(f"mlplab hub: {len(left)} process(es) did not stop: {left}", file=sys.stderr)
        return 1
    return 0
