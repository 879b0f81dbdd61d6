"""Grades in the LMS's own import layout: nbgrader export plugins for Canvas and Moodle.

Run through stock nbgrader (``nbgrader export --exporter=mlplab.course.export.CanvasExportPlugin
--to=grades.csv``) or ``mlplab export --format canvas|moodle FILE``. Both read nbgrader's gradebook:
a student's grade is the assignment's score minus the late-submission penalty, recomputed from the
current grades and extensions first (never below 0); a student without a submission gets an
empty cell (the LMS then leaves that grade alone) unless ``missing_as_zero`` is set.

Canvas ("Import grades" in the Gradebook): the layout of Canvas's own gradebook export,
``Student, ID, SIS User ID, SIS Login ID, Section``, one column per assignment headed
``name (Canvas assignment id)`` (just ``name`` creates a new assignment on import), and a
``Points Possible`` row under the header.

Moodle (Grades > Import > CSV file): a header row, identifier columns to map the user by
(``Username``, ``Email address``, ``ID number``) and one grade column per assignment.

LTI 1.3 grade passback is out of scope: these files are uploaded by hand.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin
from traitlets import Bool, Dict, Unicode

from mlplab.course.late import PercentPerDayPenalty, refresh_penalties

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_ROW = "    Points Possible"  # as in Canvas's own export: four leading spaces
MOODLE_COLUMNS = ["Username", "Email address", "ID number"]


@dataclass(frozen=True)
class StudentRow:
    """One student: identity and, per assignment, the final score (None = no submission)."""

    id: str
    first_name: str
    last_name: str
    email: str
    lms_user_id: str
    scores: dict[str, float | None]


def final_score(gradebook: Gradebook, assignment: str, student: str) -> float | None:
    """Score minus the stored late penalty, at least 0; None when the student did not submit."""
    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        return None
    penalty = submission.late_submission_penalty or 0.0
    return max(0.0, float(submission.score or 0.0) - float(penalty))


def _fmt(value: float | None, missing_as_zero: bool) -> str:
    if value is None:
        return "0.00" if missing_as_zero else ""
    return f"{value:.2f}"


class LmsExportPlugin(ExportPlugin):
    """Shared part of the LMS exporters: which assignments and students, and their final scores."""

    missing_as_zero = Bool(False, help="Write 0 for students without a submission (default: empty)").tag(config=True)
    default_file = "grades.csv"

    def assignments(self, gradebook: Gradebook) -> list:
        wanted = [str(a) for a in self.assignment]
        found = sorted(gradebook.assignments, key=lambda a: (a.duedate is None, a.duedate or 0, a.name))
        return [a for a in found if not wanted or a.name in wanted]

    def students(self, gradebook: Gradebook, assignments: list) -> list[StudentRow]:
        wanted = [str(s) for s in self.student]
        rows = []
        for student in sorted(gradebook.students, key=lambda s: ((s.last_name or "").lower(), s.id)):
            if wanted and student.id not in wanted:
                continue
            rows.append(
                StudentRow(
                    id=student.id,
                    first_name=student.first_name or "",
                    last_name=student.last_name or "",
                    email=student.email or "",
                    lms_user_id=student.lms_user_id or "",
                    scores={a.name: final_score(gradebook, a.name, student.id) for a in assignments},
                )
            )
        return rows

    def destination(self) -> str:
        return self.to or self.default_file

    def table(self, gradebook: Gradebook) -> list[list[str]]:
        raise NotImplementedError

    def export(self, gradebook: Gradebook) -> None:
        plugin = PercentPerDayPenalty(config=self.config)  # penalties follow the current grades first
        for assignment in gradebook.assignments:
            refresh_penalties(gradebook, plugin, assignment.name)
        dest = self.destination()
        rows = self.table(gradebook)
        self.log.info("Writing %d rows to %s", len(rows), dest)
        with open(dest, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh, lineterminator="\n").writerows(rows)


class CanvasExportPlugin(LmsExportPlugin):
    """Canvas gradebook import CSV."""

    canvas_assignment_ids = Dict(
        {}, help="nbgrader assignment name -> Canvas assignment id, for the 'name (id)' column header"
    ).tag(config=True)
    section = Unicode("", help="Value of the Section column (Canvas ignores it on import)").tag(config=True)
    default_file = "canvas-grades.csv"

    def header(self, assignment) -> str:
        canvas_id = self.canvas_assignment_ids.get(assignment.name)
        return f"{assignment.name} ({canvas_id})" if canvas_id else assignment.name

    def table(self, gradebook: Gradebook) -> list[list[str]]:
        assignments = self.assignments(gradebook)
        rows = [CANVAS_COLUMNS + [self.header(a) for a in assignments]]
        rows.append([CANVAS_POINTS_ROW, "", "", "", ""] + [f"{a.max_score:.2f}" for a in assignments])
        for s in self.students(gradebook, assignments):
            name = f"{s.last_name}, {s.first_name}" if s.last_name and s.first_name else (s.last_name or s.id)
            rows.append(
                [name, s.lms_user_id, s.id, s.id, self.section]
                + [_fmt(s.scores[a.name], self.missing_as_zero) for a in assignments]
            )
        return rows


class MoodleExportPlugin(LmsExportPlugin):
    """Moodle grade import CSV."""

    default_file = "moodle-grades.csv"

    def table(self, gradebook: Gradebook) -> list[list[str]]:
        assignments = self.assignments(gradebook)
        rows = [MOODLE_COLUMNS + [a.name for a in assignments]]
        for s in self.students(gradebook, assignments):
            rows.append(
                [s.id, s.email, s.lms_user_id] + [_fmt(s.scores[a.name], self.missing_as_zero) for a in assignments]
            )
        return rows


EXPORTERS = {"canvas": CanvasExportPlugin, "moodle": MoodleExportPlugin}


def export_grades(
    root: Path,
    exporter: type[LmsExportPlugin],
    file: Path,
    assignments: list[str] | None = None,
    missing_as_zero: bool = False,
    canvas_ids: dict[str, str] | None = None,
    db_url: str | None = None,
) -> Path:
    """``nbgrader export`` with one of these plugins, in the course ``root``; returns the file written."""
    from mlplab.course.generate import nbgrader
    from mlplab.course.gradebook import db_url_of

    url, _course = db_url_of(root, db_url)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise FileNotFoundError(f"no gradebook at {url.removeprefix('sqlite:///')}: autograde the class first")
    file = file.resolve()
    file.parent.mkdir(parents=True, exist_ok=True)
    args = ["export", f"--exporter={exporter.__module__}.{exporter.__name__}", f"--to={file}"]
    args += [f"--assignment={a}" for a in assignments or []]
    if missing_as_zero:
        args.append("--LmsExportPlugin.missing_as_zero=True")
    if canvas_ids:
        args.append(f"--CanvasExportPlugin.canvas_assignment_ids={json.dumps(canvas_ids)}")
    nbgrader(root, *args, db_url=url)
    return file
