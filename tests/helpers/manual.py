"""A submission with a written answer (manually graded), and hand grading as the formgrader does it."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from nbgrader.api import Gradebook

from mlplab.course.gradebook import course_config
from mlplab.validity.mutants import edit_notebook

from .paths import RELEASE
from .submissions import build

ANSWER = "Deeper nets are more sensitive to the weight scale: activations shrink or grow layer by layer."


def submit(course: Path, student: str, when: datetime, answer: str | None = ANSWER, replace: dict | None = None):
    """01_layers (reference, with ``replace``) and 03_fc_net (code left as released, the written answer
    filled in), submitted at ``when``."""
    folder = course / "submitted" / student / "mlp"
    shutil.rmtree(folder, ignore_errors=True)
    build(folder, stems=("01_layers",), replace=replace)
    shutil.copyfile(RELEASE / "03_fc_net.ipynb", folder / "03_fc_net.ipynb")
    if answer is not None:
        edit_notebook(folder / "03_fc_net.ipynb", {"inline_question_1": answer})
    (folder / "timestamp.txt").write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    return folder


def grade_state(db: str, student: str, cell: str = "inline_question_1") -> dict:
    with Gradebook(db, "mlp-lab") as gb:
        grade = gb.find_grade(cell, "03_fc_net", "mlp", student)
        comment = gb.find_comment(cell, "03_fc_net", "mlp", student)
        return {
            "manual_score": grade.manual_score,
            "needs_manual_grade": grade.needs_manual_grade,
            "extra_credit": grade.extra_credit,
            "comment": comment.manual_comment,
        }


def hand_grade(course: Path, db: str, student: str, score: float, extra: float | None = None) -> None:
    """What the formgrader does when a grader scores a written answer (its GradeHandler.put), in a process
    that loaded the course's nbgrader_config.py (as the formgrader does)."""
    course_config(course)
    with Gradebook(db, "mlp-lab") as gb:
        grade = gb.find_grade("inline_question_1", "03_fc_net", "mlp", student)
        grade.manual_score = score
        grade.extra_credit = extra
        grade.needs_manual_grade = grade.manual_score is None and grade.auto_score is None
        gb.db.commit()
