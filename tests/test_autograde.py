"""`mlplab autograde` on a small class: gradebook rows, isolation, idempotence, resume, late penalty,
feedback without hidden tests, the dask backend, and stock `nbgrader autograde` still working."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from mlplab.autograde import autograde, result_path
from mlplab.course.generate import nbgrader

from .helpers.course import make_course, submit
from .helpers.slots import AUTOGRADE_SLOTS, slot, slot_uids
from .helpers.submissions import build

pytestmark = [pytest.mark.needs_root, pytest.mark.slow]

STEMS = ("01_layers", "02_normalization")
LAYER_POINTS = 11.0  # affine_forward 2, affine_backward 3, relu_forward 1, relu_backward 2, softmax_loss 3


def grades(db_url: str) -> dict[tuple[str, str], float | None]:
    with Gradebook(db_url, "mlp-lab") as gb:
        rows = {}
        for submission in gb.assignment_submissions("mlp"):
            for nb in submission.notebooks:
                for grade in nb.grades:
                    rows[(submission.student.id, grade.name)] = grade.auto_score
        return rows


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    course, db_url = make_course(tmp_path_factory.mktemp("ag") / "course")
    with pytest.MonkeyPatch.context() as mp:  # this class's environment, for its own setup only
        mp.setenv("MLPLAB_COURSE_ROOT", str(course))
        mp.setenv("MLPLAB_SLOT_BASE", str(slot(AUTOGRADE_SLOTS)))  # this xdist worker's uids
        graded = _grade_class(course, db_url)
    return graded


@pytest.fixture(autouse=True)
def class_course(request, monkeypatch):
    """Tests that use the graded class work in its course (restored after each test)."""
    if "graded_class" in request.fixturenames:
        monkeypatch.setenv("MLPLAB_COURSE_ROOT", str(request.getfixturevalue("graded_class")["course"]))


def _grade_class(course: Path, db_url: str) -> dict:
    due = datetime.now(UTC) - timedelta(hours=12)
    nbgrader(course, "db", "assignment", "add", "mlp", f"--duedate={due.isoformat()}", db_url=db_url)
    submit(course, "zoe")
    autograde(course, jobs=2, db_url=db_url, progress=False)
    victim_before = {k: v for k, v in grades(db_url).items() if k[0] == "zoe"}

    submit(course, "ada")
    submit(course, "bob", replace={"affine_backward_solution": "def affine_backward(dout, cache):\n    return 0\n"})
    gradebook_path = str(course / "gradebook.db")
    submit(
        course,
        "ivan",
        prepend={
            "affine_forward_solution": (
                "import sqlite3\n"
                "try:\n"
                f"    con = sqlite3.connect({gradebook_path!r})\n"
                '    con.execute("update grade set auto_score = 99")\n'
                "    con.commit()\n"
                "except Exception:\n"
                "    pass\n"
            )
        },
    )
    submit(course, "kai", when=datetime.now(UTC))  # after the due date: late
    broken = submit(course, "jo")
    (broken / "02_normalization.ipynb").write_bytes(b"{ truncated")
    results = autograde(course, jobs=2, db_url=db_url, progress=False)
    return {"course": course, "db": db_url, "results": results, "victim_before": victim_before}


def test_gradebook_holds_exactly_one_row_per_student_and_grade_cell(graded_class):
    rows = grades(graded_class["db"])
    with Gradebook(graded_class["db"], "mlp-lab") as gb:
        cells = sum(len(nb.grade_cells) for nb in gb.find_assignment("mlp").notebooks)
    students = {s for s, _ in rows}
    assert students == {"zoe", "ada", "bob", "ivan", "kai", "jo"}
    assert len(rows) == len(students) * cells


def test_other_students_are_untouched_and_the_attacker_gets_only_what_they_earned(graded_class):
    rows = grades(graded_class["db"])
    assert {k: v for k, v in rows.items() if k[0] == "zoe"} == graded_class["victim_before"]
    assert rows[("ivan", "affine_forward")] == 2.0
    assert all(v is None or v <= 6 for v in rows.values())


def test_scores_match_the_trusted_results(graded_class):
    rows = grades(graded_class["db"])
    assert (
        sum(
            rows[("ada", t)]
            for t in ("affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss")
        )
        == LAYER_POINTS
    )
    assert rows[("bob", "affine_backward")] == 0.0
    assert rows[("jo", "batchnorm_forward")] == 0.0 and rows[("jo", "affine_forward")] == 2.0
    assert any("invalid notebook JSON" in e for e in graded_class["results"]["jo"]["errors"])


def test_late_submission_gets_the_course_penalty(graded_class):
    with Gradebook(graded_class["db"], "mlp-lab") as gb:
        kai = gb.find_submission("mlp", "kai")
        ada = gb.find_submission("mlp", "ada")
        assert kai.total_seconds_late > 0 and ada.total_seconds_late == 0
        assert kai.late_submission_penalty == pytest.approx(0.1 * kai.score)
        assert ada.late_submission_penalty == 0


def test_autograded_notebooks_carry_messages_but_no_hidden_tests(graded_class):
    text = (graded_class["course"] / "autograded" / "bob" / "mlp" / "01_layers.ipynb").read_text()
    assert "HIDDEN TESTS" not in text and "grade_task" not in text
    assert "affine_backward:" in text
    submitted = graded_class["course"] / "submitted" / "jo" / "mlp" / "02_normalization.ipynb"
    assert submitted.read_bytes() == b"{ truncated"  # never modified


def test_feedback_html_has_the_messages_and_no_hidden_test_source(graded_class):
    course, db = graded_class["course"], graded_class["db"]
    nbgrader(course, "generate_feedback", "mlp", "--force", "--student=bob", db_url=db)
    html = (course / "feedback" / "bob" / "mlp" / "01_layers.html").read_text()
    assert "affine_backward:" in html
    assert "grade_task" not in html and "HIDDEN TESTS" not in html and "test_layers" not in html


def test_rerun_is_idempotent_and_resumes_after_an_interruption(graded_class):
    course, db = graded_class["course"], graded_class["db"]
    before = grades(db)
    stamps = {s: result_path(course, s).stat().st_mtime_ns for s in ("ada", "bob")}
    result_path(course, "bob").unlink()  # as if interrupted before bob was written
    again = autograde(course, jobs=2, db_url=db, progress=False)
    assert grades(db) == before
    assert result_path(course, "ada").stat().st_mtime_ns == stamps["ada"]  # reused, not regraded
    assert result_path(course, "bob").is_file()
    assert json.dumps(again["bob"]["tasks"], sort_keys=True) == json.dumps(
        graded_class["results"]["bob"]["tasks"], sort_keys=True
    )


def test_dask_backend_with_two_workers_gives_the_same_grades(graded_class):
    course, db = graded_class["course"], graded_class["db"]
    before = grades(db)
    results = autograde(course, jobs=2, backend="dask", force=True, db_url=db, progress=False, students=["ada", "bob"])
    assert results["ada"]["score"] == graded_class["results"]["ada"]["score"]
    assert grades(db) == before


def test_stock_nbgrader_autograde_still_works_on_the_reference(graded_class, tmp_path):
    course, _ = make_course(tmp_path / "stock")
    db = f"sqlite:///{course / 'gradebook.db'}"
    build(course / "submitted" / "ada" / "mlp", stems=("01_layers",))
    nbgrader(course, "autograde", "mlp", "--student=ada", "--create", "--force", db_url=db)
    rows = grades(db)
    layer = [
        rows[("ada", t)] for t in ("affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss")
    ]
    assert sum(layer) == LAYER_POINTS


def test_no_process_of_the_autograde_sandbox_uids_is_left(graded_class):
    import subprocess
    import time

    def leftovers() -> list[str]:
        out = subprocess.run(["ps", "-eo", "uid=,pid="], capture_output=True, text=True).stdout.split("\n")
        return [
            line for line in out if line.split() and int(line.split()[0]) in slot_uids()
        ]

    deadline = time.monotonic() + 10
    while leftovers() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert leftovers() == []
