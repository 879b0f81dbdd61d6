"""`mlplab export --format canvas|moodle FILE`: the demo class's grades in the LMS's documented import
layouts, the late penalty stored in the gradebook applied, no submission = empty (or 0 when asked).

The gradebook is written with nbgrader's own Gradebook API (the demo roster, two notebooks, a late
student with a stored penalty, a student who never submitted), then exported through the real CLI,
which runs stock `nbgrader export` with the plugins.
"""

from __future__ import annotations

import csv
import os
import shutil
import sys
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from mlplab.demo import class_roster

from .helpers.cli import run_mlplab

# (notebook, grade cell, max points)
from .helpers.paths import ROOT

# (notebook, grade cell, max points)
CELLS = [("01_layers", "affine_forward", 6.0), ("01_layers", "softmax_loss", 4.0), ("02_normalization", "dropout", 5.0)]
MAX = sum(points for _, _, points in CELLS)
# student -> earned points per cell (None = did not submit), late penalty per notebook
EARNED = {"ada": [6.0, 4.0, 5.0], "bruno": [0.0, 0.0, 0.0], "emil": [6.0, 1.5, 5.0], "kai": [6.0, 4.0, 5.0]}
PENALTY = {"kai": {"01_layers": 1.0, "02_normalization": 0.5}}
NEVER_SUBMITTED = "nadia"


def expected_score(student: str) -> str:
    if student not in EARNED:
        return ""
    penalty = sum(PENALTY.get(student, {}).values())
    return f"{max(0.0, sum(EARNED[student]) - penalty):.2f}"


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    # nbgrader creates a new gradebook by running `alembic` from PATH (the venv's)
    path = os.environ.get("PATH", "")
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + path
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)  # nbgrader's own autoflush notices while adding rows
            return _gradebook(tmp_path_factory.mktemp("export-course"))
    finally:
        os.environ["PATH"] = path


def _gradebook(root: Path) -> Path:
    shutil.copy2(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    url = f"sqlite:///{root / 'gradebook.db'}"
    due = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    with Gradebook(url, course_id="mlp-lab") as gb:
        gb.add_assignment("mlp", duedate=due)
        for notebook in sorted({nb for nb, _, _ in CELLS}):
            gb.add_notebook(notebook, "mlp")
        for notebook, cell, points in CELLS:
            gb.add_grade_cell(cell, notebook, "mlp", max_score=points, cell_type="code")
        for student in [s.id for s in class_roster()] + [NEVER_SUBMITTED]:
            gb.add_student(
                student,
                first_name=student.capitalize(),
                last_name="Student",
                email=f"{student}@example.edu",
                lms_user_id="4711" if student == "ada" else None,
            )
        for student, earned in EARNED.items():
            late = student in PENALTY
            gb.add_submission("mlp", student, timestamp=due + (timedelta(hours=5) if late else -timedelta(hours=1)))
            for (notebook, cell, _), score in zip(CELLS, earned, strict=True):
                gb.find_grade(cell, notebook, "mlp", student).auto_score = score
            for notebook, penalty in PENALTY.get(student, {}).items():
                gb.find_submission_notebook(notebook, "mlp", student).late_submission_penalty = penalty
        gb.db.commit()
    return root


_EXPORTED: dict[tuple, list[list[str]]] = {}


def export(course: Path, fmt: str, *extra: str) -> list[list[str]]:
    """The rows of `mlplab export --format FMT FILE EXTRA...` (each distinct export runs once)."""
    key = (course, fmt, extra)
    if key not in _EXPORTED:
        _EXPORTED[key] = _export(course, fmt, *extra)
    return _EXPORTED[key]


def _export(course: Path, fmt: str, *extra: str) -> list[list[str]]:
    out = course / f"{fmt}{'-'.join(extra)}.csv"
    proc = run_mlplab("export", "--format", fmt, str(out), *extra, env={"MLPLAB_COURSE_ROOT": str(course)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    with out.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_canvas_file_has_the_gradebook_import_layout(course):
    rows = export(course, "canvas", "--canvas-id", "mlp=1234")
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "mlp (1234)"]
    assert rows[1] == ["    Points Possible", "", "", "", "", f"{MAX:.2f}"]
    by_id = {row[2]: row for row in rows[2:]}
    assert set(by_id) == {s.id for s in class_roster()} | {NEVER_SUBMITTED}
    assert by_id["ada"][:5] == ["Student, Ada", "4711", "ada", "ada", ""]
    for student, row in by_id.items():
        assert len(row) == 6
        assert row[5] == expected_score(student), f"{student}: {row}"


def test_late_penalty_is_applied_and_missing_is_empty_not_zero(course):
    rows = {row[2]: row[5] for row in export(course, "canvas")[2:]}
    assert rows["kai"] == f"{MAX - 1.5:.2f}"  # full marks minus the stored penalty (1.0 + 0.5)
    assert rows["ada"] == f"{MAX:.2f}"
    assert rows["bruno"] == "0.00"  # submitted, earned nothing
    assert rows[NEVER_SUBMITTED] == "" and rows["chen"] == ""  # no submission: left empty
    zero = {row[2]: row[5] for row in export(course, "canvas", "--missing-as-zero")[2:]}
    assert zero[NEVER_SUBMITTED] == "0.00" and zero["kai"] == rows["kai"]


def test_canvas_header_without_an_id_names_a_new_assignment(course):
    assert export(course, "canvas")[0][5] == "mlp"


def test_moodle_file_has_identifier_columns_then_the_grade(course):
    rows = export(course, "moodle")
    assert rows[0] == ["Username", "Email address", "ID number", "mlp"]
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id["ada"] == ["ada", "ada@example.edu", "4711", f"{MAX:.2f}"]
    assert by_id["kai"][3] == f"{MAX - 1.5:.2f}"
    assert by_id[NEVER_SUBMITTED] == [NEVER_SUBMITTED, f"{NEVER_SUBMITTED}@example.edu", "", ""]
    assert {row[3] for row in rows[1:]} >= {"", "0.00"}


def test_export_without_a_gradebook_says_so(tmp_path):
    shutil.copy2(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    proc = run_mlplab(
        "export", "--format", "moodle", str(tmp_path / "x.csv"), env={"MLPLAB_COURSE_ROOT": str(tmp_path)}
    )
    assert proc.returncode == 2
    assert "no gradebook" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.csv").exists()
