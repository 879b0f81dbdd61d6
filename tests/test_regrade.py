"""Re-running `mlplab autograde` never makes the gradebook worse; late penalties and extensions do not depend
on the order of steps; a half-written gradebook is refused before anything is written."""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from sqlalchemy.exc import OperationalError

from mlplab.autograde import autograde, class_table, result_path
from mlplab.course.generate import nbgrader
from mlplab.course.gradebook import Writer, grant_extension, student_summaries
from mlplab.course.late import late_penalty
from mlplab.coursedir import manual_tasks, tasks

from .helpers.cli import one_sentence, run_in
from .helpers.manual import ANSWER, grade_state, hand_grade, submit
from .helpers.paths import ROOT

DUE = datetime(2026, 1, 10, 12, 0, 0)  # naive UTC, as nbgrader stores it
RELU_FORWARD_WRONG = {"relu_forward_solution": "def relu_forward(x):\n    return x, x\n"}
RELU_BACKWARD_WRONG = {"relu_backward_solution": "def relu_backward(d, c):\n    return d\n"}
SOFTMAX_WRONG = {"softmax_loss_solution": "def softmax_loss(x, y):\n    return 0\n"}


def db_digest(course: Path) -> str:
    return hashlib.sha256((course / "gradebook.db").read_bytes()).hexdigest()


def run(course: Path, db: str, **kwargs) -> dict:
    results = autograde(course, jobs=2, db_url=db, progress=False, **kwargs)
    return {"results": results, "report": {"graded": results.graded, "cached": results.cached,
                                           "changed": results.changed}}


@pytest.fixture(scope="module")
def course(tmp_path_factory, monkeypatch_module):
    from .helpers.course import make_course

    course, db = make_course(tmp_path_factory.mktemp("regrade") / "course")
    monkeypatch_module.setenv("MLPLAB_COURSE_ROOT", str(course))
    nbgrader(course, "db", "assignment", "add", "mlp", f"--duedate={DUE.isoformat()} UTC", db_url=db)
    return course, db


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.fixture(scope="module")
def regraded(course):
    """ada's answer is hand-graded, then: three re-runs, bob resubmits, ada resubmits code, then her answer."""
    course, db = course
    on_time = DUE - timedelta(days=1)
    submit(course, "ada", on_time)
    submit(course, "bob", on_time)
    first = run(course, db, students=["ada", "bob"])
    seen = {"flagged_at_first": grade_state(db, "ada"), "first": first}
    hand_grade(course, db, "ada", 1.5, extra=0.5)
    with Gradebook(db, "mlp-lab") as gb:
        gb.find_comment("inline_question_1", "03_fc_net", "mlp", "ada").manual_comment = "clear argument"
        gb.db.commit()
    seen["hand_graded"] = grade_state(db, "ada")
    digest = db_digest(course)
    seen["reruns"] = []
    for _ in range(3):
        rerun = run(course, db, students=["ada", "bob"])
        seen["reruns"].append((rerun["report"], db_digest(course) == digest, grade_state(db, "ada")))
    submit(course, "bob", on_time + timedelta(hours=1), replace=RELU_FORWARD_WRONG)
    seen["bob_resubmits"] = run(course, db, students=["ada", "bob"])["report"]
    seen["after_bob"] = grade_state(db, "ada")
    submit(course, "ada", on_time + timedelta(hours=2), replace=RELU_BACKWARD_WRONG)
    seen["ada_code"] = run(course, db, students=["ada"])
    seen["after_ada_code"] = grade_state(db, "ada")
    submit(course, "ada", on_time + timedelta(hours=3), answer=ANSWER + " Batch norm helps.")
    run(course, db, students=["ada"])
    seen["after_ada_answer"] = grade_state(db, "ada")
    return seen


@pytest.mark.slow
@pytest.mark.needs_root
def test_an_answered_text_cell_is_flagged_for_manual_grading(regraded):
    assert regraded["flagged_at_first"]["needs_manual_grade"] is True
    assert regraded["hand_graded"] == {
        "manual_score": 1.5,
        "needs_manual_grade": False,
        "extra_credit": 0.5,
        "comment": "clear argument",
    }


@pytest.mark.slow
@pytest.mark.needs_root
def test_hand_grading_survives_three_reruns_that_write_nothing(regraded):
    for report, unchanged_db, state in regraded["reruns"]:
        assert report["graded"] == [] and report["changed"] == []
        assert unchanged_db, "a re-run with nothing new wrote to the gradebook"
        assert state == regraded["hand_graded"]


@pytest.mark.slow
@pytest.mark.needs_root
def test_another_students_resubmission_writes_only_that_student(regraded):
    assert regraded["bob_resubmits"]["graded"] == ["bob"] and regraded["bob_resubmits"]["changed"] == ["bob"]
    assert regraded["after_bob"] == regraded["hand_graded"]


@pytest.mark.slow
@pytest.mark.needs_root
def test_new_code_with_the_same_answer_keeps_the_manual_grade(regraded):
    assert regraded["ada_code"]["report"]["graded"] == ["ada"]
    assert regraded["ada_code"]["results"]["ada"]["tasks"]["relu_backward"]["score"] == 0.0
    assert regraded["after_ada_code"] == regraded["hand_graded"]


@pytest.mark.slow
@pytest.mark.needs_root
def test_a_changed_answer_is_flagged_again_keeping_comment_and_extra_credit(regraded):
    state = regraded["after_ada_answer"]
    assert state["needs_manual_grade"] is True
    assert state["comment"] == "clear argument" and state["extra_credit"] == 0.5


@pytest.mark.slow
@pytest.mark.needs_root
def test_a_blank_cell_says_it_is_not_answered_instead_of_an_empty_error(regraded):
    errors = regraded["first"]["results"]["ada"]["errors"]
    assert any("overfit_three_layer_solution: not answered yet" in e for e in errors), errors
    assert not any(e.rstrip().endswith("NotImplementedError:") for e in errors)


@pytest.mark.slow
@pytest.mark.needs_root
def test_summary_totals_are_out_of_all_points_with_manual_grading_marked_pending(course, regraded):
    course, db = course
    summaries = student_summaries(course, db)
    table = class_table({"bob": regraded["first"]["results"]["bob"]}, summaries)
    row = table.splitlines()[1]
    auto = sum(t.points for t in tasks(ROOT).values())
    manual = sum(t.points for t in manual_tasks(ROOT).values())
    assert row.split()[2] == f"{auto + manual:.1f}"  # autograded + manual points
    assert f"manual grading pending: 1 answer(s), 2 of {manual:g} manual points" in table  # bob's answer, unread


def test_notes_are_never_cut_mid_word():
    long_note = "03_fc_net: " + " ".join(f"word{i}" for i in range(60))
    result = {"score": 0.0, "max_score": 67.0, "tasks": {}, "errors": [long_note, "second note"]}
    table = class_table({"zed": result})
    assert long_note in table and "second note" in table


@pytest.mark.slow
@pytest.mark.needs_root
def test_a_failed_gradebook_write_is_not_cached_as_done(course, monkeypatch):
    course, db = course
    submit(course, "cy", DUE - timedelta(days=1))
    real = Writer._write

    def failing(self, student, result):
        if student == "cy":
            raise OperationalError("UPDATE grade", {}, Exception("database is locked"))
        return real(self, student, result)

    monkeypatch.setattr(Writer, "_write", failing)
    first = run(course, db, students=["cy"])
    assert any("gradebook write failed" in e for e in first["results"]["cy"]["errors"])
    assert json.loads(result_path(course, "cy").read_text())["written"] is False
    monkeypatch.setattr(Writer, "_write", real)
    second = run(course, db, students=["cy"])
    assert second["report"]["graded"] == [] and second["report"]["changed"] == ["cy"]  # cached, now written
    assert json.loads(result_path(course, "cy").read_text())["written"] is True
    assert not any("gradebook write failed" in e for e in second["results"]["cy"]["errors"])


# -- late penalties and extensions -----------------------------------------------------------------


def test_late_penalty_is_ten_percent_of_the_total_per_started_day():
    assert late_penalty(80.0, DUE, DUE) == 0.0
    assert late_penalty(80.0, DUE + timedelta(seconds=1), DUE) == pytest.approx(8.0)
    assert late_penalty(80.0, DUE + timedelta(days=1), DUE) == pytest.approx(8.0)
    assert late_penalty(80.0, DUE + timedelta(days=1, seconds=1), DUE) == pytest.approx(16.0)
    assert late_penalty(80.0, DUE + timedelta(days=1, seconds=1), DUE, timedelta(days=1)) == pytest.approx(8.0)
    assert late_penalty(80.0, DUE + timedelta(days=30), DUE) == 80.0  # capped at the total
    assert late_penalty(80.0, None, DUE) == 0.0 and late_penalty(80.0, DUE, None) == 0.0


STEPS = ("autograde", "hand-grade", "extend")


@pytest.fixture(scope="module")
def every_order(course):
    """Six late students (2.5 days late), one per order of (autograde a resubmission, hand-grade, extend 1 day)."""
    course, db = course
    submitted_at = DUE + timedelta(days=2, hours=12)
    orders = list(itertools.permutations(STEPS))
    students = [f"late{i}" for i in range(len(orders))]
    for student in students:
        submit(course, student, submitted_at)
    run(course, db, students=students)  # the first autograde of everyone: the formgrader needs the rows
    for student, order in zip(students, orders, strict=True):
        for step in order:
            if step == "autograde":
                submit(course, student, submitted_at, replace=SOFTMAX_WRONG)
                run(course, db, students=[student])
            elif step == "hand-grade":
                hand_grade(course, db, student, 2.0)
            else:
                grant_extension(course, student, days=1)
    grades_csv = course / "grades.csv"
    with Gradebook(db, "mlp-lab") as gb:
        before_export = {s: gb.find_submission("mlp", s).late_submission_penalty for s in students}
        totals = {s: gb.find_submission("mlp", s).score for s in students}
    nbgrader(course, "export", f"--to={grades_csv}", db_url=db)
    rows = {r["student_id"]: r for r in csv.DictReader(grades_csv.open())}
    return {
        "students": students,
        "orders": orders,
        "gradebook": before_export,
        "totals": totals,
        "csv": rows,
        "submitted_at": submitted_at,
    }


@pytest.mark.slow
@pytest.mark.needs_root
def test_penalty_is_identical_in_every_order_of_autograde_hand_grade_and_extend(every_order):
    totals = {every_order["totals"][s] for s in every_order["students"]}
    assert len(totals) == 1
    total = totals.pop()
    expected = late_penalty(total, every_order["submitted_at"], DUE, timedelta(days=1))
    assert expected == pytest.approx(0.2 * total) and total == pytest.approx(8.0 + 2.0)  # 01 minus softmax, + manual
    for student, order in zip(every_order["students"], every_order["orders"], strict=True):
        assert every_order["gradebook"][student] == pytest.approx(expected), order
        assert float(every_order["csv"][student]["late_submission_penalty"]) == pytest.approx(expected), order


@pytest.mark.slow
@pytest.mark.needs_root
def test_export_shows_each_students_effective_due_date(every_order):
    row = every_order["csv"][every_order["students"][0]]
    assert row["duedate"].startswith(str(DUE + timedelta(days=1)))
    assert float(row["score"]) == pytest.approx(float(row["raw_score"]) - float(row["late_submission_penalty"]))


@pytest.mark.slow
@pytest.mark.needs_root
def test_extend_command_grants_the_extension_and_updates_the_penalty_at_once(course):
    course, db = course
    submit(course, "dee", DUE + timedelta(hours=36))  # 2 started days late
    run(course, db, students=["dee"])
    with Gradebook(db, "mlp-lab") as gb:
        total = gb.find_submission("mlp", "dee").score
        assert gb.find_submission("mlp", "dee").late_submission_penalty == pytest.approx(0.2 * total)
    proc = run_in(course, "extend", "mlp", "dee", "--until", str(DUE + timedelta(days=2)) + " UTC")
    assert proc.returncode == 0, proc.stderr
    assert "late penalty" in proc.stdout and str(DUE + timedelta(days=2)) in proc.stdout
    with Gradebook(db, "mlp-lab") as gb:
        assert gb.find_submission("mlp", "dee").late_submission_penalty == 0.0
    line = one_sentence(run_in(course, "extend", "mlp", "dee", "--days", "1", "--until", "2026-01-01"))
    assert "exactly one of" in line


# -- a half-written gradebook, an unreachable scheduler ---------------------------------------------


@pytest.mark.slow
def test_a_gradebook_with_the_assignment_but_no_notebooks_is_refused_writing_nothing(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy2(ROOT / "nbgrader_config.py", course)
    for part in ("source", "grader_tests", "release"):
        shutil.copytree(ROOT / part, course / part, ignore=shutil.ignore_patterns("__pycache__"))
    db = f"sqlite:///{course / 'gradebook.db'}"
    nbgrader(course, "db", "assignment", "add", "mlp", f"--duedate={DUE.isoformat()} UTC", db_url=db)  # nbgrader docs
    submit(course, "ada", DUE - timedelta(days=1))
    line = one_sentence(run_in(course, "autograde", "mlp"))
    assert "without its notebooks" in line and "mlplab generate" in line
    with Gradebook(db, "mlp-lab") as gb:
        assert gb.find_assignment("mlp").submissions == []
    assert not result_path(course, "ada").exists() and not (course / "autograded" / "ada").exists()
    nbgrader(course, "generate_assignment", "mlp", "--force", db_url=db)  # the course is not locked
    assert (course / "release" / "mlp" / "01_layers.ipynb").is_file()


@pytest.mark.slow
def test_an_unreachable_scheduler_is_one_sentence_and_is_not_contacted_when_nothing_needs_grading(course):
    course, db = course
    dead = "tcp://127.0.0.1:9"  # the discard port: nothing listens
    submit(course, "ada", DUE - timedelta(days=1))
    run(course, db, students=["ada"])
    proc = run_in(course, "autograde", "mlp", "--student", "ada", "--backend", "dask", "--scheduler", dead)
    assert proc.returncode == 0, proc.stderr[-2000:]  # ada's result is cached: nothing to send anywhere
    proc = run_in(course, "autograde", "mlp", "--student", "ada", "--force", "--backend", "dask", "--scheduler", dead)
    line = one_sentence(proc)
    assert dead in line and "did not answer within 5 s" in line
