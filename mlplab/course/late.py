"""Late-submission policy of the course: 10% of the total per started day late.

The policy is one pure function, :func:`late_penalty`, of the submission time, the due date, the student's
extension and the *current* total (autograded + manual + extra credit), so the penalty never depends on
the order in which autograding, hand-grading and extensions happen. It is applied

* by :class:`PercentPerDayPenalty`, nbgrader's plugin interface (stock ``nbgrader autograde`` and
  ``mlplab autograde`` alike), enabled in ``nbgrader_config.py``;
* by :func:`refresh_penalties` (after every ``mlplab autograde``, on ``mlplab extend``);
* by :class:`LateAwareCsvExportPlugin` at ``nbgrader export``, which recomputes every penalty from the
  current grades first, so hand-grading done in the formgrader since the last autograde counts.

nbgrader stores the penalty per notebook (``SubmittedNotebook.late_submission_penalty``); the policy is
linear in the score, so per-notebook penalties add up to the penalty of the total.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import CsvExportPlugin, LateSubmissionPlugin
from traitlets import Float

DAY_S = 86400.0
DEFAULT_PERCENT_PER_DAY = 10.0


def effective_duedate(duedate: datetime | None, extension: timedelta | None) -> datetime | None:
    """The due date a student is held to: the assignment's due date plus their extension (if any)."""
    if duedate is None:
        return None
    return duedate + extension if extension else duedate


def seconds_late(submitted_at: datetime | None, duedate: datetime | None, extension: timedelta | None = None) -> float:
    """Seconds after the effective due date (0 when on time, undated or without a due date).

    Both datetimes must be alike: naive UTC (as nbgrader stores them) or both timezone-aware.
    """
    due = effective_duedate(duedate, extension)
    if submitted_at is None or due is None:
        return 0.0
    return max(0.0, (submitted_at - due).total_seconds())


def days_late(seconds: float) -> int:
    """Started days late: 1 second late is 1 day, exactly 24 h late is 1 day, 24 h + 1 s is 2 days."""
    return math.ceil(seconds / DAY_S) if seconds > 0 else 0


def penalty_for(score: float, seconds: float, percent_per_day: float = DEFAULT_PERCENT_PER_DAY) -> float:
    """``percent_per_day`` % of ``score`` per started day late, capped at the score (never negative)."""
    days = days_late(seconds)
    if days == 0 or score <= 0:
        return 0.0
    return min(score, score * percent_per_day * days / 100.0)


def late_penalty(
    total: float,
    submitted_at: datetime | None,
    duedate: datetime | None,
    extension: timedelta | None = None,
    percent_per_day: float = DEFAULT_PERCENT_PER_DAY,
) -> float:
    """The course's late penalty in points for a submission whose current total is ``total`` points.

    A pure function of its arguments: the submission time, the assignment's due date, the student's
    extension (None for none) and the total (autograded + manual + extra credit) at this moment.
    """
    return penalty_for(total, seconds_late(submitted_at, duedate, extension), percent_per_day)


class PercentPerDayPenalty(LateSubmissionPlugin):
    """nbgrader's plugin interface to :func:`late_penalty` (applied per notebook to its score)."""

    percent_per_day = Float(DEFAULT_PERCENT_PER_DAY, help="Penalty per started day late, in percent of the score").tag(
        config=True
    )

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float | None:
        if total_seconds_late <= 0:
            return None
        return penalty_for(score, total_seconds_late, self.percent_per_day)


def notebook_total(notebook) -> float:
    """The current score of a ``SubmittedNotebook``, computed from its grades in Python.

    Same rule as nbgrader's SQL column (a manual score replaces the automatic one; extra credit adds),
    but fresh inside a transaction that has not been flushed yet.
    """
    total = 0.0
    for grade in notebook.grades:
        base = grade.manual_score if grade.manual_score is not None else grade.auto_score
        if base is None:
            continue
        total += float(base) + float(grade.extra_credit or 0.0)
    return total


def refresh_submission(submission, plugin: LateSubmissionPlugin) -> bool:
    """Set every notebook's penalty of ``submission`` from the current grades; True when one changed."""
    seconds = submission.total_seconds_late
    changed = False
    for notebook in submission.notebooks:
        value = None
        if seconds > 0:
            value = plugin.late_submission_penalty(submission.student_id, notebook_total(notebook), seconds)
        value = None if value is None else round(float(value), 6)
        current = notebook.late_submission_penalty
        if (current is None) != (value is None) or (value is not None and abs(float(current) - value) > 1e-9):
            notebook.late_submission_penalty = value
            changed = True
    return changed


def refresh_penalties(
    gradebook: Gradebook, plugin: LateSubmissionPlugin, assignment: str, students: list[str] | None = None
) -> list[str]:
    """Recompute the penalties of an assignment's submissions (all, or ``students``); commits; returns
    the students whose penalty changed (nothing is written for the others)."""
    changed = []
    try:
        submissions = gradebook.assignment_submissions(assignment)
    except MissingEntry:
        return changed
    for submission in submissions:
        if students is not None and submission.student_id not in students:
            continue
        if refresh_submission(submission, plugin):
            changed.append(submission.student_id)
    if changed:
        gradebook.db.commit()
    return changed


class LateAwareCsvExportPlugin(CsvExportPlugin):
    """``nbgrader export`` (CSV): penalties recomputed from the current grades first, and the ``duedate``
    column is each student's effective due date (their extension included)."""

    def export(self, gradebook: Gradebook) -> None:
        plugin = PercentPerDayPenalty(config=self.config)  # the course's percent_per_day
        for assignment in gradebook.assignments:
            refresh_penalties(gradebook, plugin, assignment.name)
        dest = self.to or "grades.csv"
        keys = [
            "assignment",
            "duedate",
            "timestamp",
            "student_id",
            "last_name",
            "first_name",
            "email",
            "raw_score",
            "late_submission_penalty",
            "score",
            "max_score",
        ]
        students = [str(s) for s in self.student]
        assignments = [str(a) for a in self.assignment]
        rows = [",".join(keys)]
        for assignment in gradebook.assignments:
            if assignments and assignment.name not in assignments:
                continue
            for student in gradebook.students:
                if students and student.id not in students:
                    continue
                row = {
                    "assignment": assignment.name,
                    "duedate": assignment.duedate,
                    "student_id": student.id,
                    "last_name": student.last_name,
                    "first_name": student.first_name,
                    "email": student.email,
                    "max_score": assignment.max_score,
                    "timestamp": "",
                    "raw_score": 0.0,
                    "late_submission_penalty": 0.0,
                    "score": 0.0,
                }
                try:
                    submission = gradebook.find_submission(assignment.name, student.id)
                except MissingEntry:
                    pass
                else:
                    penalty = submission.late_submission_penalty
                    row.update(
                        duedate=submission.duedate,
                        timestamp=submission.timestamp,
                        raw_score=submission.score,
                        late_submission_penalty=penalty,
                        score=max(0.0, submission.score - penalty),
                    )
                rows.append(",".join("" if row[k] is None else str(row[k]) for k in keys))
        with open(dest, "w") as fh:
            fh.write("\n".join(rows) + "\n")


_HOOK: dict = {}


def _penalties_before_flush(session, flush_context, instances) -> None:
    """SQLAlchemy ``before_flush``: every notebook whose grades (or whose submission's extension or
    timestamp) changed in this flush gets its penalty recomputed in the same transaction."""
    from nbgrader.api import Grade, SubmittedAssignment

    plugin = _HOOK.get("plugin")
    if plugin is None:
        return
    submissions = {}
    for obj in list(session.dirty) + list(session.new):
        if isinstance(obj, Grade) and obj.notebook is not None and obj.notebook.assignment is not None:
            submissions[id(obj.notebook.assignment)] = obj.notebook.assignment
        elif isinstance(obj, SubmittedAssignment):
            submissions[id(obj)] = obj
    for submission in submissions.values():
        if submission.assignment is not None:
            refresh_submission(submission, plugin)


def penalties_follow_grades(config) -> None:
    """Keep late penalties current wherever nbgrader's gradebook API changes a grade in this process: the
    formgrader (manual scores, extra credit), ``nbgrader autograde``, ``Gradebook.grant_extension``.

    Called from ``nbgrader_config.py`` (which every nbgrader command and the formgrader load) with the
    course's config; installing twice replaces the policy, never adds a second listener.
    """
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    plugin_name = config.AssignLatePenalties.get("plugin_class", "mlplab.course.late.PercentPerDayPenalty")
    if isinstance(plugin_name, str):
        from traitlets.utils.importstring import import_item

        plugin_cls = import_item(plugin_name)
    else:
        plugin_cls = plugin_name
    _HOOK["plugin"] = plugin_cls(config=config)
    if not event.contains(Session, "before_flush", _penalties_before_flush):
        event.listen(Session, "before_flush", _penalties_before_flush)
