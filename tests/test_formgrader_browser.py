"""Manual grading in the browser: nbgrader's formgrader, opened from JupyterLab's Nbgrader menu.

A small graded course (``mlplab autograde`` on a reference submission with a written answer) is served
by a real `jupyter lab`; headless Chromium (Debian's, driven by Playwright) opens the formgrader, goes
to ada's 03_fc_net submission, enters a score and a comment for the written answer, and the test reads
them back from the nbgrader gradebook.

Needs Debian's ``chromium`` (``apt-get install -y chromium``; CI installs it) and the ``playwright``
package (requirements.lock). Either missing is a failure, never a skip. ``MLPLAB_SCREENSHOT=PATH`` also
writes the screenshot to PATH (docs/formgrader-manual-grading.png is made that way).
"""

from __future__ import annotations

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
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from mlplab.autograde import autograde

from .helpers.browser import CHROMIUM, CHROMIUM_ARGS
from .helpers.course import make_course, submit
from .helpers.slots import AUTOGRADE_SLOTS, slot

pytestmark = [pytest.mark.needs_browser, pytest.mark.needs_root, pytest.mark.slow]

STEM = "03_fc_net"
CELL = "inline_question_1"  # manually graded written answer, 2 points
ANSWER = (
    "**Your answer:** The five-layer network was much harder to overfit: only a narrow band of weight\n"
    "scales worked, because the signal shrinks or grows by a factor per layer, so depth multiplies it."
)
SCORE = 1.5
COMMENT = "Right idea; say what happens to the gradients of the first layers."
MAX_PNG_BYTES = 300_000


@pytest.fixture(scope="session")
def playwright_api():
    """Playwright's sync API and ``expect``; fails (never skips) without the package or Chromium."""
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:  # pragma: no cover - a broken install, reported as a failure
        pytest.fail("the `playwright` package is missing: pip install -r requirements.lock", pytrace=False)
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's browser (`apt-get install -y chromium`, "
            "as `make test` does when root) or point MLPLAB_CHROMIUM at a Chromium binary",
            pytrace=False,
        )
    return sync_playwright, expect


def _write_answer(notebook: Path, grade_id: str, text: str) -> None:
    nb = json.loads(notebook.read_text())
    cells = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id]
    assert len(cells) == 1, f"{notebook.name} has no single cell {grade_id}"
    question = "".join(cells[0]["source"]).split("**Your answer:**")[0]
    cells[0]["source"] = question + text
    notebook.write_text(json.dumps(nb, indent=1))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """A course where ada wrote an answer to the inline question and bruno left it as released."""
    course, db_url = make_course(tmp_path_factory.mktemp("fg") / "course")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLPLAB_COURSE_ROOT", str(course))
        mp.setenv("MLPLAB_SLOT_BASE", str(slot(AUTOGRADE_SLOTS + 5)))  # this xdist worker's sandbox uids
        ada = submit(course, "ada", stems=(STEM,))
        _write_answer(ada / f"{STEM}.ipynb", CELL, ANSWER)
        submit(course, "bruno", stems=(STEM,))
        results = autograde(course, jobs=2, db_url=db_url, progress=False)
    assert results["ada"]["tasks"]["fc_net"]["score"] == results["ada"]["tasks"]["fc_net"]["max_score"]
    return course, db_url


@pytest.fixture(scope="session")
def lab(graded, tmp_path_factory):
    """`jupyter lab` serving the course (its nbgrader_config.py and gradebook); stopped afterwards."""
    course, db_url = graded
    home = tmp_path_factory.mktemp("lab-home")
    config_dir = home / "jupyter-config"
    config_dir.mkdir()
    exchange = home / "exchange"
    exchange.mkdir()
    (config_dir / "nbgrader_config.py").write_text(f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\n")
    settings = home / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"checkForUpdates": false, "fetchNews": "false"}')
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        MLPLAB_DB_URL=db_url,
        MLPLAB_COURSE_ROOT=str(course),
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(config_dir),
        JUPYTER_DATA_DIR=str(home / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(home / "jupyter-runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "lab-workspaces"),
        PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
    )
    log_path = home / "jupyter-lab.log"
    cmd = [
        str(Path(sys.executable).with_name("jupyter")),
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.token={token}",
        "--allow-root",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer within 90 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield {"base": base, "token": token, "log": log_path, "course": course, "db": db_url}
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_autograde_flags_only_real_written_answers_for_manual_grading(graded):
    _, db_url = graded
    with Gradebook(db_url, "mlp-lab") as gb:
        ada = gb.find_grade(CELL, STEM, "mlp", "ada")
        bruno = gb.find_grade(CELL, STEM, "mlp", "bruno")
        assert ada.needs_manual_grade and ada.auto_score is None and ada.manual_score is None
        assert not bruno.needs_manual_grade and bruno.auto_score == 0.0  # left as released: nothing to grade


def test_manual_grade_entered_in_the_formgrader_lands_in_the_gradebook(playwright_api, lab, tmp_path):
    sync_playwright, expect = playwright_api
    shot = tmp_path / "formgrader-manual-grading.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(30_000)
            page.goto(f"{lab['base']}/lab?token={lab['token']}")
            page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
            page.locator(".lm-Menu-itemLabel").get_by_text("Formgrader", exact=True).click()
            formgrader = page.frame_locator("#formgrader iframe")
            formgrader.get_by_role("link", name="Manual Grading").first.click()
            formgrader.get_by_role("link", name="mlp", exact=True).click()
            formgrader.get_by_role("link", name=STEM, exact=True).click()
            expect(formgrader.locator("a.name-hidden")).to_have_count(2)  # ada and bruno, anonymised
            formgrader.get_by_role("button", name="Show All Names").click()
            formgrader.get_by_role("link", name="ada", exact=True).click()

            score = formgrader.locator(f"input.score#{CELL}")
            score.scroll_into_view_if_needed()
            answer = formgrader.locator(".nbgrader_cell", has=score)
            assert "narrow band of weight" in answer.inner_text()
            with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT") as put:
                score.fill(str(SCORE))
                score.press("Tab")
            assert put.value.ok, put.value.status
            with page.expect_response(
                lambda r: "/formgrader/api/comment/" in r.url and r.request.method == "PUT"
            ) as put_comment:
                comment = formgrader.locator(f"textarea#{CELL}-comment")
                comment.fill(COMMENT)
                comment.press("Tab")
            assert put_comment.value.ok, put_comment.value.status
            score.scroll_into_view_if_needed()
            page.mouse.move(0, 0)
            time.sleep(1.5)  # let the "saved" tick fade out of the screenshot
            page.screenshot(path=str(shot))
        finally:
            browser.close()

    with Gradebook(lab["db"], "mlp-lab") as gb:
        grade = gb.find_grade(CELL, STEM, "mlp", "ada")
        assert grade.manual_score == SCORE
        assert grade.score == SCORE and not grade.needs_manual_grade
        assert gb.find_comment(CELL, STEM, "mlp", "ada").manual_comment == COMMENT
        notebook = gb.find_submission_notebook(STEM, "mlp", "ada")
        assert notebook.score == notebook.code_score + SCORE
        assert gb.find_grade(CELL, STEM, "mlp", "bruno").manual_score is None

    assert 10_000 < shot.stat().st_size < MAX_PNG_BYTES, shot.stat().st_size
    target = os.environ.get("MLPLAB_SCREENSHOT")
    if target:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)
