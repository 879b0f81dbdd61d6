"""The grading service's intake and worker without a hub: real inbound folders, the real sandboxed grader,
the real nbgrader gradebook (official attempt written through the trusted writer, hand-grading kept)."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from mlplab.course.generate import nbgrader
from mlplab.service.grader import GradingService
from mlplab.service.policy import Policy
from mlplab.service.watcher import inbound_dir, scan

from .helpers.course import make_course
from .helpers.submissions import build

pytestmark = [pytest.mark.needs_root, pytest.mark.slow]


def _tree_state(folder: Path) -> dict[str, tuple[str, int]]:
    """Content hash and mtime of every file, the target of every link (to show a folder was never modified)."""
    state: dict[str, tuple[str, int]] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_symlink():
            state[str(p.relative_to(folder))] = (os.readlink(p), p.lstat().st_mtime_ns)
        elif p.is_file():
            state[str(p.relative_to(folder))] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
    return state


def _inbound(exchange: Path, student: str, n: int, when: datetime, **build_args) -> Path:
    """A folder as `nbgrader submit` leaves it in the exchange's inbound."""
    stamp = when.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    folder = inbound_dir(exchange, "mlp-lab") / f"{student}+mlp+{stamp}+r{n}"
    build(folder, **build_args)
    (folder / "timestamp.txt").write_text(stamp)
    (folder / "submission_secret.txt").write_text("secret")
    return folder


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root, db_url = make_course(tmp_path_factory.mktemp("svc") / "course")
    due = datetime.now(UTC) + timedelta(days=2)
    nbgrader(root, "db", "assignment", "add", "mlp", f"--duedate={due.isoformat()}", db_url=db_url)
    os.environ.setdefault("MLPLAB_SLOT_BASE", "320")
    service = GradingService(root, db_url=db_url, policy=Policy(attempts_per_window=2))
    yield root, db_url, service, tmp_path_factory.mktemp("exchange")
    service.close()


def test_submission_is_copied_never_modified_and_planted_links_are_not_followed(course):
    root, _, service, exchange = course
    folder = _inbound(exchange, "ada", 1, datetime.now(UTC))
    (folder / "02_normalization.ipynb").symlink_to(root / "gradebook.db")
    before = _tree_state(folder)
    (attempt,) = scan(service, inbound_dir(exchange, "mlp-lab"))
    assert _tree_state(folder) == before
    snapshot = Path(attempt.snapshot)
    assert sorted(p.name for p in snapshot.iterdir()) == ["01_layers.ipynb", "submission_secret.txt", "timestamp.txt"]
    assert attempt.status == "queued" and attempt.submission_hash
    assert scan(service, inbound_dir(exchange, "mlp-lab")) == []  # recorded once


def test_attempt_is_graded_in_the_sandbox_and_written_to_the_gradebook_keeping_hand_grading(course):
    root, db_url, service, _ = course
    with Gradebook(db_url, "mlp-lab") as gb:  # a TA already graded ada's written answer by hand
        gb.update_or_create_student("ada")
        gb.update_or_create_submission("mlp", "ada")
        grade = gb.find_grade("inline_question_1", "03_fc_net", "mlp", "ada")
        grade.manual_score = 1.5
        gb.db.commit()
    done = service.grade_next(slot=int(os.environ["MLPLAB_SLOT_BASE"]))
    assert done.status == "graded" and done.runs == 1 and not done.reused
    assert done.result["tasks"]["affine_backward"]["score"] == 3.0 and done.score == 11.0
    assert done.queued_at <= done.started_at <= done.finished_at
    assert service.queue.get(done.id).official
    with Gradebook(db_url, "mlp-lab") as gb:
        assert gb.find_grade("affine_backward", "01_layers", "mlp", "ada").auto_score == 3.0
        assert gb.find_grade("inline_question_1", "03_fc_net", "mlp", "ada").manual_score == 1.5
    assert (root / "submitted" / "ada" / "mlp" / "01_layers.ipynb").is_file()  # where `nbgrader collect` puts it


def test_identical_resubmission_reuses_the_result_and_the_third_in_a_day_is_refused(course):
    _, _, service, exchange = course
    now = datetime.now(UTC)
    _inbound(exchange, "ada", 2, now)
    _inbound(exchange, "ada", 3, now + timedelta(seconds=1))
    second, third = scan(service, inbound_dir(exchange, "mlp-lab"))
    assert second.status == "queued"
    assert third.status == "refused" and "over the limit of 2" in third.note
    first = service.queue.attempts("mlp", "ada")[0]
    assert third.next_allowed_at == first.noticed_at + timedelta(hours=24)
    reused = service.grade_next(slot=int(os.environ["MLPLAB_SLOT_BASE"]))
    assert reused.id == second.id and reused.reused and reused.score == 11.0
    assert service.grade_next() is None  # a refused attempt is never graded


def test_a_submission_without_notebooks_scores_zero_with_a_reason_and_a_lost_copy_fails(course, caplog):
    from mlplab.service.app import instructor_view

    caplog.set_level(logging.WARNING, logger="mlplab")
    _, _, service, exchange = course
    inbound = inbound_dir(exchange, "mlp-lab")
    for n, student in enumerate(("bob", "cy")):
        folder = inbound / f"{student}+mlp+{datetime.now(UTC):%Y-%m-%d %H:%M:%S.%f} UTC+r{n}"
        folder.mkdir(parents=True)
        (folder / "notes.txt").write_text("no notebooks here")
        (folder / "submission_secret.txt").write_text("secret")
    empty, lost = scan(service, inbound)
    shutil.rmtree(lost.snapshot)  # the service's copy vanished (disk cleanup): grading cannot even start
    slot = int(os.environ["MLPLAB_SLOT_BASE"])
    graded, failed = service.grade_next(slot), service.grade_next(slot)
    assert (graded.id, graded.status, graded.score) == (empty.id, "graded", 0.0)
    assert any("01_layers" in e for e in graded.result["errors"]), graded.result["errors"]
    assert (failed.id, failed.status) == (lost.id, "failed") and "grading failed" in failed.note
    assert service.queue.counts("mlp")["graded"] == 3
    # the log has the traceback, the pages a one-line reason
    logged = [r for r in caplog.records if r.exc_info and f"attempt {lost.id} " in r.getMessage()]
    assert logged and logged[0].exc_info[0] is FileNotFoundError, [r.getMessage() for r in caplog.records]
    assert failed.note.startswith("grading failed: FileNotFoundError") and "\n" not in failed.note
    assert [r.note for r in instructor_view(service, "mlp")["failed"] if r.id == lost.id] == [failed.note]


def test_mlplab_autograde_after_the_deadline_gives_the_same_grades_as_the_service(course):
    from mlplab.autograde import autograde

    root, db_url, _, _ = course

    def ada_grades() -> dict[str, float | None]:
        with Gradebook(db_url, "mlp-lab") as gb:
            submission = gb.find_submission("mlp", "ada")
            return {g.name: g.score for nb in submission.notebooks for g in nb.grades}

    by_service = ada_grades()
    autograde(root, students=["ada"], jobs=1, db_url=db_url, force=True, progress=False)
    assert ada_grades() == by_service
    assert by_service["affine_backward"] == 3.0 and by_service["inline_question_1"] == 1.5
