"""A real PostgreSQL gradebook: the same class autograded into PostgreSQL and into SQLite gives identical
grades, late penalties and exported totals.

Needs a PostgreSQL server: ``MLPLAB_TEST_PG_URL`` names a role that may create databases, e.g.
``postgresql+psycopg2://mlplab:mlplab@127.0.0.1:5432/`` (``.ci/postgres.sh`` installs and starts Debian's
server and prints that URL; ``make test`` runs it when root). Unset, the test fails; it never skips.
Every run creates its own database and drops it afterwards.
"""

from __future__ import annotations

import csv
import os
import secrets
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from mlplab.autograde import RESULT_DIR, autograde
from mlplab.course.generate import nbgrader
from mlplab.course.gradebook import exported_totals
from mlplab.coursedir import tasks

from .helpers.paths import ROOT
from .helpers.slots import AUTOGRADE_SLOTS, slot
from .helpers.submissions import build

pytestmark = [pytest.mark.needs_postgres, pytest.mark.needs_root, pytest.mark.slow]

PG_ENV = "MLPLAB_TEST_PG_URL"
STEMS = ("01_layers", "02_normalization")
DUE = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
CLASS = {  # student -> (submitted at, solution cells replaced)
    "ada": (DUE - timedelta(days=1), {}),
    "bob": (
        DUE - timedelta(hours=2),
        {"affine_backward_solution": "def affine_backward(dout, cache):\n    return 0\n"},
    ),
    "kai": (  # 30 hours late: two started days, 20 % off
        DUE + timedelta(hours=30),
        {"batchnorm_forward_solution": "def batchnorm_forward(x, gamma, beta, bn_param):\n    return x, None\n"},
    ),
}


@pytest.fixture(scope="session")
def pg_url():
    """A fresh, empty PostgreSQL database for this module (dropped at the end)."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.fail(
            f"{PG_ENV} is not set: this test needs a PostgreSQL server. Run `.ci/postgres.sh` (as root; it "
            f"installs and starts Debian's postgresql) and `export {PG_ENV}=$(.ci/postgres.sh)`; "
            "`make test` does both when run as root",
            pytrace=False,
        )
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        pytest.fail(
            "the PostgreSQL driver is missing: pip install -r requirements.lock (psycopg2-binary)", pytrace=False
        )
    url = make_url(base)
    name = f"mlplab_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as con:
            con.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as exc:
        pytest.fail(
            f"cannot create a database on {url.render_as_string(hide_password=True)} ({PG_ENV}): {exc}", pytrace=False
        )
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as con:
            con.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _course(folder: Path, db_url: str) -> Path:
    """A scratch course whose assignment is generated into ``db_url``, with the class submitted."""
    folder.mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", folder)
    for part in ("source", "grader_tests"):
        shutil.copytree(ROOT / part, folder / part, ignore=shutil.ignore_patterns("__pycache__"))
    nbgrader(folder, "generate_assignment", "mlp", "--force", db_url=db_url)
    nbgrader(folder, "db", "assignment", "add", "mlp", f"--duedate={DUE.isoformat()}", db_url=db_url)
    for student, (when, replace) in CLASS.items():
        submitted = build(folder / "submitted" / student / "mlp", stems=STEMS, replace=replace)
        (submitted / "timestamp.txt").write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
    return folder


def _snapshot(db_url: str) -> dict:
    """Everything autograding put into a gradebook, keyed by names (never by database ids)."""
    out: dict = {"grades": {}, "late": {}, "seconds_late": {}, "cells": 0}
    with Gradebook(db_url, "mlp-lab") as gb:
        out["cells"] = sum(len(nb.grade_cells) for nb in gb.find_assignment("mlp").notebooks)
        for submission in gb.assignment_submissions("mlp"):
            student = submission.student.id
            out["seconds_late"][student] = submission.total_seconds_late
            for nb in submission.notebooks:
                out["late"][(student, nb.name)] = nb.late_submission_penalty
                for grade in nb.grades:
                    out["grades"][(student, nb.name, grade.name)] = (
                        grade.auto_score,
                        grade.manual_score,
                        grade.needs_manual_grade,
                    )
    return out


def _export(course: Path, db_url: str, target: Path) -> list[dict]:
    nbgrader(course, "export", f"--to={target}", db_url=db_url)
    with target.open(newline="") as fh:
        return sorted(csv.DictReader(fh), key=lambda row: (row["assignment"], row["student_id"]))


@pytest.fixture(scope="session")
def both(pg_url, tmp_path_factory):
    """The class graded once, written by ``mlplab autograde`` into PostgreSQL and into SQLite.

    The SQLite course gets the PostgreSQL run's result cache, so its ``autograde`` writes the very same
    results (grading itself is compared elsewhere); what differs is only the database behind nbgrader.
    """
    base = tmp_path_factory.mktemp("pg")
    sqlite_url = f"sqlite:///{base / 'sqlite' / 'gradebook.db'}"
    courses = {"pg": _course(base / "pg", pg_url), "sqlite": _course(base / "sqlite", sqlite_url)}
    urls = {"pg": pg_url, "sqlite": sqlite_url}
    results = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLPLAB_SLOT_BASE", str(slot(AUTOGRADE_SLOTS + 10)))  # this xdist worker's sandbox uids
        mp.setenv("MLPLAB_COURSE_ROOT", str(courses["pg"]))
        results["pg"] = autograde(courses["pg"], jobs=2, force=True, db_url=pg_url, progress=False)
        cache = Path("autograded") / RESULT_DIR
        shutil.copytree(courses["pg"] / cache, courses["sqlite"] / cache)
        mp.setenv("MLPLAB_COURSE_ROOT", str(courses["sqlite"]))
        results["sqlite"] = autograde(courses["sqlite"], jobs=2, db_url=sqlite_url, progress=False)
    return {"courses": courses, "urls": urls, "results": results, "base": base}


def test_nbgrader_created_its_schema_in_postgresql(both):
    url = both["urls"]["pg"]
    assert make_url(url).get_backend_name() == "postgresql"
    engine = create_engine(url, poolclass=NullPool)
    try:
        tables = set(inspect(engine).get_table_names())
        with engine.connect() as con:
            version = con.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        engine.dispose()
    assert {"assignment", "notebook", "grade_cells", "grade", "submitted_assignment", "alembic_version"} <= tables
    assert version
    nbgrader(both["courses"]["pg"], "db", "upgrade", db_url=url)  # alembic against PostgreSQL: already at head


def test_postgresql_and_sqlite_hold_identical_grades(both):
    pg, lite = _snapshot(both["urls"]["pg"]), _snapshot(both["urls"]["sqlite"])
    assert pg["grades"] == lite["grades"]
    assert len(pg["grades"]) == len(CLASS) * pg["cells"]
    assert {s for s, _, _ in pg["grades"]} == set(CLASS)
    layers = ("affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss")
    assert sum(pg["grades"][("ada", "01_layers", t)][0] for t in layers) == 11.0
    assert pg["grades"][("bob", "01_layers", "affine_backward")][0] < 1.0
    assert pg["grades"][("kai", "02_normalization", "batchnorm_forward")][0] < 1.0
    # each backend against the graders' own verdicts (the JSON results), not only against the other backend
    table = tasks(ROOT)
    for kind, snap in (("pg", pg), ("sqlite", lite)):
        for student, result in both["results"]["pg"].items():
            for task_id, info in result["tasks"].items():
                stored = snap["grades"][(student, table[task_id].notebook, task_id)][0]
                assert stored == pytest.approx(info["score"]), f"{kind}: {student} {task_id}"


def test_late_penalties_are_identical(both):
    pg, lite = _snapshot(both["urls"]["pg"]), _snapshot(both["urls"]["sqlite"])
    assert pg["seconds_late"] == lite["seconds_late"]
    assert pg["seconds_late"]["kai"] == pytest.approx(30 * 3600)
    assert pg["seconds_late"]["ada"] == pg["seconds_late"]["bob"] == 0
    assert pg["late"] == pytest.approx(lite["late"])
    with Gradebook(both["urls"]["pg"], "mlp-lab") as gb:
        kai = gb.find_submission("mlp", "kai")
        assert kai.score > 0 and kai.late_submission_penalty == pytest.approx(0.2 * kai.score)
    totals = exported_totals(both["courses"]["pg"], both["urls"]["pg"])
    assert totals == pytest.approx(exported_totals(both["courses"]["sqlite"], both["urls"]["sqlite"]))
    assert set(totals) == set(CLASS)


def test_nbgrader_export_is_identical(both):
    rows = {
        kind: _export(both["courses"][kind], both["urls"][kind], both["base"] / f"{kind}.csv") for kind in both["urls"]
    }
    assert rows["pg"] == rows["sqlite"]
    assert {row["student_id"] for row in rows["pg"]} == set(CLASS)


def test_rerun_into_postgresql_is_idempotent(both):
    course, url = both["courses"]["pg"], both["urls"]["pg"]
    before = _snapshot(url)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLPLAB_COURSE_ROOT", str(course))
        autograde(course, jobs=3, db_url=url, progress=False)  # cached results, written again
    assert _snapshot(url) == before


def test_hand_grading_survives_reruns_and_another_resubmission_in_postgresql(both):
    from .helpers.manual import ANSWER, grade_state, hand_grade, submit

    course, url = both["courses"]["pg"], both["urls"]["pg"]
    submit(course, "zed", DUE.replace(tzinfo=None) - timedelta(days=1))  # 01 + a written answer in 03
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLPLAB_COURSE_ROOT", str(course))
        autograde(course, students=["zed"], jobs=1, db_url=url, progress=False)
        assert grade_state(url, "zed")["needs_manual_grade"] is True
        hand_grade(course, url, "zed", 1.0, extra=0.25)
        with Gradebook(url, "mlp-lab") as gb:
            gb.find_comment("inline_question_1", "03_fc_net", "mlp", "zed").manual_comment = "well argued"
            gb.db.commit()
        graded = grade_state(url, "zed")
        for _ in range(3):
            run = autograde(course, jobs=2, db_url=url, progress=False)
            assert run.graded == [] and run.changed == []
            assert grade_state(url, "zed") == graded
        build(course / "submitted" / "ada" / "mlp", stems=("01_layers",), replace=CLASS["bob"][1])  # ada resubmits
        run = autograde(course, jobs=2, db_url=url, progress=False)
        assert run.graded == ["ada"] and run.changed == ["ada"]
    assert graded == {"manual_score": 1.0, "needs_manual_grade": False, "extra_credit": 0.25, "comment": "well argued"}
    assert grade_state(url, "zed") == graded
    assert ANSWER in (course / "submitted" / "zed" / "mlp" / "03_fc_net.ipynb").read_text()
