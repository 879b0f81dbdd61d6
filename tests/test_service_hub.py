"""Feedback on submit with the real parts: JupyterHub + configurable-http-proxy (``mlplab hub --demo``'s
setup), the grading service as a hub-managed service, nbgrader's exchange, real Unix students, the
sandboxed grader, and Debian's Chromium through Playwright.

One hub for the whole module (starting it costs most of the time). The steps build on each other, in
file order: ada fetches and submits through JupyterLab's Assignments panel and sees her score; bob is
refused her attempt; ada goes over the limit; the service is killed while grading bob and restarted by
the hub; cy's hostile submission changes nobody else's results and its ``<script>`` shows as text.

Needs root (useradd), ``make hub-deps`` (the proxy, a reachable interpreter) and Chromium; any of them
missing is a failure with the fix in its message, never a skip. ``MLPLAB_SCREENSHOT_DIR=docs`` also saves
the student and instructor pages there (docs/service-student-page.png, docs/service-instructor-page.png).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from mlplab.service.grader import as_utc_iso
from mlplab.service.hub import free_port, proxy_command, start_demo, stop_hub
from mlplab.service.queue import AttemptQueue

from .helpers.browser import CHROMIUM, CHROMIUM_ARGS
from .helpers.submissions import build
from .helpers.waiting import wait_for

pytestmark = [pytest.mark.needs_browser, pytest.mark.needs_root, pytest.mark.slow]

PREFIX = "e2e-"
ATTEMPTS = 2  # per 24 h, so the third attempt is refused
SCRIPT = "<script>document.title='pwned'</script>"
RESULT_TIMEOUT_S = 60


def _as_user(user: str, *args: str, cwd: str | None = None) -> subprocess.CompletedProcess:
    home = f"/home/{user}"
    cmd = ["runuser", "-u", user, "--", "env", f"HOME={home}", f"JUPYTER_CONFIG_PATH={_CONFIG['student_config']}",
           f"PATH={Path(sys.executable).parent}:/usr/bin:/bin", *args]
    return subprocess.run(cmd, cwd=cwd or home, capture_output=True, text=True, timeout=300)


_CONFIG: dict = {}


@pytest.fixture(scope="module")
def hub():
    """The demo hub with a limit of two attempts per day; stopped (with everything it started) afterwards."""
    if os.geteuid() != 0:
        pytest.fail("the hub test creates Unix students with useradd: run it as root (CI does)", pytrace=False)
    try:
        proxy_command()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    os.environ.setdefault("MLPLAB_SLOT_BASE", "300")  # sandbox uids apart from other tests' graders
    # not under pytest's basetemp: pytest keeps that private (0700), and the students' servers must reach
    # the exchange and their nbgrader config
    folder = Path(tempfile.mkdtemp(prefix="mlplab-hub-test-"))
    folder.chmod(0o755)
    proc, facts = start_demo(folder / "demo", port=free_port(), prefix=PREFIX, attempts=ATTEMPTS, rescan_s=2.0)
    _CONFIG["student_config"] = str(folder / "demo" / "student-config")
    probe = _as_user(f"{PREFIX}ada", sys.executable, "-c", "pass")
    if probe.returncode != 0:
        stop_hub(proc)
        reason = probe.stderr.strip()
        pytest.fail(f"students cannot run {sys.executable} ({reason}): run `make hub-deps`", pytrace=False)
    for account in facts["accounts"]:  # students persist between runs: start each run with nothing fetched
        home = Path(f"/home/{account['name']}")
        shutil.rmtree(home / "mlp", ignore_errors=True)
        shutil.rmtree(home / ".local" / "share" / "jupyter" / "nbgrader_cache", ignore_errors=True)
    facts["passwords"] = {a["name"]: a["password"] for a in facts["accounts"]}
    facts["queue"] = AttemptQueue(facts["db_url"])
    yield facts
    facts["queue"].close()
    stop_hub(proc)
    shutil.rmtree(folder, ignore_errors=True)
    for account in facts["accounts"]:  # each run's servers are gone: no process of the students is left
        left = subprocess.run(["pgrep", "-u", account["name"]], capture_output=True, text=True).stdout.split()
        assert not left, f"processes of {account['name']} left after the hub stopped: {left}"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium (make test-deps)", pytrace=False)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _login(browser, hub, user: str, next_path: str):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(hub["url"] + next_path)
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", hub["passwords"][user])
    page.click("#login_submit")
    page.wait_for_load_state()
    return page


def _attempts(hub, student: str) -> list:
    return [a for a in hub["queue"].attempts("mlp", student)]


def _submit_cli(hub, user: str, notebook: Path) -> None:
    """What the Assignments panel runs: the student's own `nbgrader submit`, as the student."""
    target = Path(f"/home/{user}/mlp")
    if not target.is_dir():
        fetched = _as_user(user, str(Path(sys.executable).with_name("nbgrader")), "fetch_assignment", "mlp")
        assert fetched.returncode == 0, fetched.stderr[-2000:]
    shutil.copyfile(notebook, target / notebook.name)
    shutil.chown(target / notebook.name, user)
    done = _as_user(user, str(Path(sys.executable).with_name("nbgrader")), "submit", "mlp")
    assert done.returncode == 0, done.stderr[-2000:]


def _api(hub, path: str, token: str | None = None) -> tuple[int, object]:
    request = urllib.request.Request(hub["service_url"] + path)
    if token:
        request.add_header("Authorization", f"token {token}")
    try:
        with urllib.request.urlopen(request, timeout=20) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        return exc.code, (json.loads(body) if body.startswith(b"{") else body.decode(errors="replace"))


def _token(page, hub, user: str) -> str:
    """A hub API token of ``user``, requested on the hub's own token page with the browser's login."""
    page.goto(f"{hub['url']}/hub/token")
    page.fill("#token-note", "e2e")
    page.get_by_role("button", name="Request new API token").click()
    token = page.locator("#token-result")
    token.wait_for()
    return token.inner_text().strip()


@pytest.fixture(scope="module")
def good_notebook(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("good"), stems=("01_layers",)) / "01_layers.ipynb"


def test_student_submits_in_the_assignments_panel_and_sees_the_score_within_60_s(hub, browser, good_notebook):
    ada = f"{PREFIX}ada"
    page = _login(browser, hub, ada, "/hub/spawn")
    page.wait_for_url(f"**/user/{ada}/lab**", timeout=120_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Assignment List", exact=True).click()
    released = page.locator("#released_assignments_list")
    try:
        released.get_by_role("button", name="Fetch").click()
    except Exception:
        page.screenshot(path="/tmp/e2e-panel-failure.png")
        raise AssertionError(f"no Fetch button in the Assignments panel: {released.inner_text()[:2000]}") from None
    fetched = page.locator("#fetched_assignments_list")
    fetched.get_by_role("button", name="Submit").wait_for()
    # the student's work: her notebook 01, filled in (as she would have done in the editor)
    mine = Path(f"/home/{ada}/mlp/01_layers.ipynb")
    shutil.copyfile(good_notebook, mine)
    shutil.chown(mine, ada)
    submitted_at = time.monotonic()
    fetched.get_by_role("button", name="Submit").click()
    page.locator("#submitted_assignments_list").get_by_text("mlp").first.wait_for()

    service = page.context.new_page()
    service.goto(hub["service_url"])
    score = service.locator(".attempt[data-status=graded] .score").first
    score.wait_for(timeout=RESULT_TIMEOUT_S * 1000)
    seconds = time.monotonic() - submitted_at
    assert seconds <= RESULT_TIMEOUT_S
    assert "score 11.00 / " in score.inner_text()  # all of notebook 01 (11 points), nothing else
    assert "relu_backward" in service.locator(".attempt").first.inner_text()
    if os.environ.get("MLPLAB_SCREENSHOT_DIR"):
        service.screenshot(path=str(Path(os.environ["MLPLAB_SCREENSHOT_DIR"]) / "service-student-page.png"))
    # the page and the API agree
    reply = service.request.get(hub["service_url"] + "api/attempts?assignment=mlp",
                                headers={"X-XSRFToken": service.locator("#view").get_attribute("data-xsrf")})
    assert reply.status == 200
    (api_attempt,) = reply.json()
    assert api_attempt["status"] == "graded" and api_attempt["score"] == 11.0 and api_attempt["student"] == ada
    assert set(api_attempt) == {"id", "student", "assignment", "submitted_at", "status", "score", "max_score",
                                "tasks", "attempts_left", "next_allowed_at"}
    hub["ada_token"] = _token(page, hub, ada)
    hub["ada_result"] = api_attempt
    page.context.close()


def test_a_second_student_gets_403_on_the_first_ones_attempts(hub, browser):
    bob = f"{PREFIX}bob"
    page = _login(browser, hub, bob, "/services/grader/")
    token = _token(page, hub, bob)
    page.context.close()
    status, body = _api(hub, f"api/attempts?assignment=mlp&student={PREFIX}ada", token)
    assert status == 403 and "only their own" in body["message"]
    status, own = _api(hub, "api/attempts?assignment=mlp", token)
    assert status == 200 and own == []
    hub["bob_token"] = token


def test_nothing_answers_without_hub_authentication(hub):
    status, _ = _api(hub, "api/attempts?assignment=mlp")
    assert status == 403
    status, _ = _api(hub, "api/attempts?assignment=mlp", token="not-a-token")
    assert status == 403
    for path in ("", "instructor"):
        request = urllib.request.Request(hub["service_url"] + path)
        opener = urllib.request.build_opener(_NoRedirect())
        try:
            opener.open(request, timeout=20)
            raise AssertionError(f"{path or 'student page'} answered without a login")
        except urllib.error.HTTPError as exc:
            assert exc.code == 302 and "/hub/api/oauth2/authorize" in exc.headers["Location"]
    request = urllib.request.Request(hub["service_url"] + "instructor/regrade", data=b"assignment=mlp")
    request.add_header("Authorization", f"token {hub['bob_token']}")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=20)
    assert refused.value.code == 403  # a student, and no XSRF token


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_identical_resubmission_reuses_the_result_and_over_the_limit_is_refused_with_the_next_time(
    hub, good_notebook
):
    ada = f"{PREFIX}ada"
    _submit_cli(hub, ada, good_notebook)  # same notebooks: the cached result, no second grading
    second = wait_for(lambda: [a for a in _attempts(hub, ada) if a.status == "graded"][1:], 60, "the reused result")
    assert second[0].reused and second[0].score == 11.0
    _submit_cli(hub, ada, good_notebook)  # the third in 24 h with a limit of two
    third = wait_for(lambda: [a for a in _attempts(hub, ada) if a.status == "refused"], 30, "the refusal")[0]
    first = _attempts(hub, ada)[0]
    assert third.next_allowed_at == first.noticed_at + timedelta(hours=24)  # when the first leaves the window
    status, listed = _api(hub, "api/attempts?assignment=mlp", hub["ada_token"])
    refused = [a for a in listed if a["status"] == "refused"]
    assert status == 200 and len(refused) == 1 and refused[0]["attempts_left"] == 0
    assert refused[0]["next_allowed_at"] == as_utc_iso(first.noticed_at + timedelta(hours=24))


def test_service_killed_while_grading_is_restarted_by_the_hub_and_grades_the_attempt_exactly_once(hub, tmp_path):
    bob = f"{PREFIX}bob"
    slow = build(tmp_path / "bob", stems=("01_layers", "02_normalization")) / "02_normalization.ipynb"
    _submit_cli(hub, bob, slow)
    running = wait_for(lambda: [a for a in _attempts(hub, bob) if a.status == "running"], 60, "bob's attempt to run")[0]
    service = subprocess.run(["pgrep", "-f", f"mlplab serve --course {hub['course']}"], capture_output=True, text=True)
    (pid,) = service.stdout.split()
    os.kill(int(pid), signal.SIGKILL)
    done = wait_for(lambda: [a for a in _attempts(hub, bob) if a.status == "graded" and a.official], 180,
                    "bob's attempt graded and in the gradebook after the restart")
    attempts = _attempts(hub, bob)
    assert len(attempts) == 1 and done[0].id == running.id
    assert done[0].runs == 2 and done[0].official  # started twice, finished once, in the gradebook
    from nbgrader.api import Gradebook

    with Gradebook(hub["db_url"], "mlp-lab") as gb:
        assert gb.find_submission("mlp", bob).score >= 0
        assert gb.find_grade("relu_forward", "01_layers", "mlp", bob).auto_score is not None


def test_a_hostile_submission_changes_nobody_elses_results_and_its_script_shows_as_text(hub, browser, tmp_path):
    cy, teacher = f"{PREFIX}cy", f"{PREFIX}teacher"
    course = hub["course"]
    attack = (
        "import os, shutil, glob\n"
        f"for target in glob.glob({course + '/**'!r}, recursive=True) + glob.glob({hub['exchange'] + '/**'!r}, "
        "recursive=True):\n"
        "    try:\n        os.remove(target)\n    except OSError:\n        pass\n"
        f"shutil.rmtree({course + '/grader_tests'!r}, ignore_errors=True)\n"
    )
    hostile = build(
        tmp_path / "cy",
        stems=("01_layers",),
        replace={"relu_forward_solution": f"def relu_forward(x):\n    raise ValueError({SCRIPT!r})\n"},
        extra_cells={"01_layers": [attack]},
    )
    _submit_cli(hub, cy, hostile / "01_layers.ipynb")
    graded = wait_for(lambda: [a for a in _attempts(hub, cy) if a.status == "graded"], 90, "cy's attempt")[0]
    assert graded.result["tasks"]["relu_forward"]["score"] == 0.0
    assert graded.result["tasks"]["affine_forward"]["score"] == 2.0
    status, ada_now = _api(hub, "api/attempts?assignment=mlp", hub["ada_token"])
    result_keys = ("id", "status", "score", "max_score", "tasks")
    assert status == 200 and {k: ada_now[0][k] for k in result_keys} == {k: hub["ada_result"][k] for k in result_keys}
    assert Path(course, "grader_tests").is_dir() and Path(course, "nbgrader_config.py").is_file()

    page = _login(browser, hub, teacher, "/services/grader/instructor")
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.wait_for_selector("#recent")
    text = page.locator("#recent").inner_text()
    assert SCRIPT in text  # shown as text...
    assert page.title() != "pwned" and not dialogs  # ...never run
    assert "&lt;script&gt;" in page.content()
    assert "failed: 0" in page.locator(".counts").inner_text()
    rates = page.locator("#pass-rates").inner_text()
    assert "relu_forward" in rates
    if os.environ.get("MLPLAB_SCREENSHOT_DIR"):
        page.screenshot(path=str(Path(os.environ["MLPLAB_SCREENSHOT_DIR"]) / "service-instructor-page.png"),
                        full_page=True)
    graded_before = hub["queue"].counts("mlp")["graded"]
    page.get_by_role("button", name="Regrade all").click()  # the form carries the XSRF token
    page.wait_for_selector("#recent")
    counts = hub["queue"].counts("mlp")
    assert counts["graded"] < graded_before and counts["queued"] + counts["running"] >= 1  # back in the queue
    page.context.close()
