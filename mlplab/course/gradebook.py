"""The one trusted writer: grading results into the nbgrader gradebook and autograded notebooks.

Scores land in nbgrader's own database (any SQLAlchemy ``db_url``) through
nbgrader's :class:`~nbgrader.api.Gradebook`, so the formgrader, ``nbgrader
generate_feedback`` and ``nbgrader export`` work unchanged. nbgrader's
submission timestamps (``timestamp.txt``) and its ``LateSubmissionPlugin``
apply. Autograded notebooks are the student's notebook with every grade cell
replaced by its *release* version (no hidden tests) whose output is the trusted
grader messages and the earned points.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
import warnings
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.utils import parse_utc
from sqlalchemy.exc import SAWarning
from traitlets.config import Config
from traitlets.utils.importstring import import_item

from mlplab.config import course_config as read_course_config
from mlplab.coursedir import ASSIGNMENT, CourseDir
from mlplab.grading.result import GradeResult, TaskResult
from mlplab.notebooks import NotebookError, grade_cells, nbgrader_meta, read_cells

HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
TEXT_STUB = "YOUR ANSWER HERE"


def course_config(root: Path) -> Config:
    """The course's nbgrader configuration (nbgrader_config.py): :func:`mlplab.config.course_config`."""
    return read_course_config(root)


def db_url_of(root: Path, override: str | None = None) -> tuple[str, str]:
    config = course_config(root)
    course = config.CourseDirectory
    db_url = override or course.get("db_url") or f"sqlite:///{root / 'gradebook.db'}"
    from mlplab.extras import require_db_driver

    require_db_driver(db_url)
    return db_url, course.get("course_id", "mlp-lab")


def read_timestamp(folder: Path):
    path = folder / "timestamp.txt"
    if not path.is_file():
        return None
    text = path.read_text(errors="replace").strip()
    try:
        return parse_utc(text) if text else None
    except ValueError:
        return None


def _release_cells(root: Path, stem: str) -> dict[str, dict]:
    path = CourseDir(root).release_notebook(stem)
    return dict(grade_cells(json.loads(path.read_text())["cells"]))


def unanswered(answer: str | None, released: str | None) -> bool:
    """Whether a written answer cell was left as released (nothing for a grader to read).

    The released cell keeps the question above nbgrader's text stub, so an untouched cell is not just
    the stub: it is the released source itself.
    """
    if answer is None:
        return True
    text = answer.strip()
    return text in ("", TEXT_STUB, *_translated_answer_stubs()) or (released is not None and text == released.strip())


@lru_cache(maxsize=1)
def _translated_answer_stubs() -> frozenset[str]:
    """The text stub of every translated edition (a zh student's untouched answer cell)."""
    from mlplab.course.i18n import answer_stubs

    return frozenset(answer_stubs())


def _grade_output(task: TaskResult | None) -> list:
    if task is None:
        lines = ["not graded"]
        score = 0.0
    else:
        lines = list(task.messages) or ["all checks passed"]
        lines.append(f"{task.passed}/{task.passed + task.failed} checks passed")
        score = task.score
    return [
        nbformat.v4.new_output("stream", name="stdout", text="\n".join(lines) + "\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": repr(float(score))}, execution_count=1),
    ]


class GradebookNotReady(Exception):
    """The gradebook cannot take results yet; the message is one sentence saying what to run."""


def answer_fingerprint(answer: str | None) -> str:
    """A short hash of a written answer (whitespace at the ends ignored)."""
    return hashlib.sha256((answer or "").strip().encode()).hexdigest()[:16]


def check_ready(gradebook: Gradebook, root: Path) -> None:
    """Raise :class:`GradebookNotReady` unless the gradebook holds the assignment *with* its notebooks
    and grade cells (as ``nbgrader generate_assignment`` / ``mlplab generate`` put them there).

    An assignment added with ``nbgrader db assignment add`` alone has no notebooks: a submission written
    against it would have none either, and nbgrader would then refuse to generate the assignment ever again.
    """
    try:
        assignment = gradebook.find_assignment(ASSIGNMENT)
    except MissingEntry:
        raise GradebookNotReady(
            f"the gradebook has no assignment {ASSIGNMENT!r} yet: run `mlplab generate` first (nothing was written)"
        ) from None
    if not assignment.notebooks or not any(nb.grade_cells for nb in assignment.notebooks):
        raise GradebookNotReady(
            f"the gradebook has assignment {ASSIGNMENT!r} without its notebooks (it was added with `nbgrader db "
            "assignment add` but never generated): run `mlplab generate` first (nothing was written)"
        )
    expected = {p.stem for p in CourseDir(root).source_notebooks()}
    missing = sorted(expected - {nb.name for nb in assignment.notebooks})
    if missing:
        raise GradebookNotReady(
            f"the gradebook's assignment {ASSIGNMENT!r} lacks notebook(s) {', '.join(missing)}: run `mlplab generate` "
            "to update it (nothing was written)"
        )


class Writer:
    """Writes grading results of one assignment for many students, one at a time.

    Writing never makes the gradebook worse: only values that differ are changed (a re-run with the same
    results writes nothing), comments and extra credit are never touched, and a written answer that a
    grader has already scored keeps its manual score and "graded" state for as long as the answer is
    unchanged (a changed answer is flagged for manual grading again). The fingerprints of the answers last
    seen are kept in ``autograded/.mlplab/answers/<student>.json``.
    """

    def __init__(self, root: Path, db_url: str | None = None) -> None:
        self.root = root
        url, course_id = db_url_of(root, db_url)
        self.gradebook = Gradebook(url, course_id)
        try:
            check_ready(self.gradebook, root)
        except GradebookNotReady:
            self.gradebook.close()
            raise
        config = course_config(root)
        plugin = config.AssignLatePenalties.get("plugin_class", LateSubmissionPlugin)
        self.late = (import_item(plugin) if isinstance(plugin, str) else plugin)(config=config)
        self.assignment = self.gradebook.find_assignment(ASSIGNMENT)
        self._release: dict[str, dict[str, dict]] = {}

    def close(self) -> None:
        self.gradebook.close()

    # -- gradebook ---------------------------------------------------------
    def write(self, student: str, result: dict, notebooks: bool = True) -> bool:
        """Record ``result`` (the ``mlplab grade --json`` object) for ``student``; True when the gradebook
        changed. ``notebooks``: also (re)write the autograded notebooks."""
        with warnings.catch_warnings():
            # nbgrader's own add_submission triggers SQLAlchemy autoflush warnings, and nbformat warns
            # about (and repairs) duplicated cell ids in reorganised notebooks; both are harmless here
            warnings.simplefilter("ignore", SAWarning)
            warnings.filterwarnings("ignore", module="nbformat")
            try:
                changed = self._write(student, result)
            except Exception:
                self.gradebook.db.rollback()
                raise
            if notebooks:
                self._write_notebooks(student, CourseDir(self.root).submitted(student), result)
            return changed

    def refresh_penalties(self, students: list[str] | None = None) -> list[str]:
        """Late penalties from the current totals (after hand-grading too); the students whose changed."""
        from mlplab.course.late import refresh_penalties

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)
            return refresh_penalties(self.gradebook, self.late, ASSIGNMENT, students)

    def _answers_path(self, student: str) -> Path:
        return CourseDir(self.root).state / "answers" / f"{student}.json"

    def _seen_answers(self, student: str) -> dict[str, str]:
        try:
            return dict(json.loads(self._answers_path(student).read_text()))
        except (OSError, ValueError, TypeError):
            return {}

    def _write(self, student: str, result: dict) -> bool:
        from mlplab.course.late import refresh_submission

        graded = GradeResult.from_json(result)
        submitted = CourseDir(self.root).submitted(student)
        gb = self.gradebook
        changed = False
        try:
            gb.find_student(student)
        except MissingEntry:
            gb.add_student(student)
            changed = True
        timestamp = read_timestamp(submitted)
        try:
            submission = gb.find_submission(ASSIGNMENT, student)
        except MissingEntry:
            kwargs = {"timestamp": timestamp} if timestamp is not None else {}
            submission = gb.add_submission(ASSIGNMENT, student, **kwargs)
            changed = True
        else:
            if timestamp is not None and submission.timestamp != timestamp:
                submission.timestamp = timestamp
                changed = True
        answers = self._manual_answers(submitted)
        seen = self._seen_answers(student)
        fingerprints: dict[str, str] = {}
        for notebook in self.assignment.notebooks:
            for cell in notebook.grade_cells:
                grade = gb.find_grade(cell.name, notebook.name, ASSIGNMENT, student)
                if cell.cell_type == "code":
                    task = graded.tasks.get(cell.name)
                    want = {"auto_score": float(task.score) if task else 0.0, "needs_manual_grade": False}
                else:
                    answer = answers.get(cell.name)
                    fingerprint = fingerprints[cell.name] = answer_fingerprint(answer)
                    same_answer = seen.get(cell.name, fingerprint) == fingerprint
                    if unanswered(answer, self._released_text(notebook.name, cell.name)):
                        want = {"auto_score": 0.0, "needs_manual_grade": False}
                        if not same_answer:
                            want["manual_score"] = None  # a score for an answer that is gone
                    elif grade.manual_score is not None and same_answer:
                        want = {"auto_score": None}  # graded by hand, answer unchanged: keep the grader's verdict
                    else:
                        want = {"auto_score": None, "needs_manual_grade": True}
                for name, value in want.items():
                    if getattr(grade, name) != value:
                        setattr(grade, name, value)
                        changed = True
        if changed:
            gb.db.commit()
        if refresh_submission(submission, self.late):
            gb.db.commit()
            changed = True
        if fingerprints != seen:
            path = self._answers_path(student)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(fingerprints, sort_keys=True))
            tmp.replace(path)
        return changed

    def _released_text(self, stem: str, grade_id: str) -> str | None:
        """The source of a cell as released to students (None when the release lacks it)."""
        if stem not in self._release:
            try:
                self._release[stem] = _release_cells(self.root, stem)
            except (OSError, ValueError, KeyError):
                self._release[stem] = {}
        cell = self._release[stem].get(grade_id)
        return None if cell is None else "".join(cell["source"])

    def _manual_answers(self, submitted: Path) -> dict[str, str]:
        answers: dict[str, str] = {}
        for path in submitted.glob("*.ipynb"):
            try:
                for cell in read_cells(path):
                    if cell.grade and cell.solution and cell.grade_id:
                        answers.setdefault(cell.grade_id, cell.source)
            except NotebookError:
                continue
        return answers

    # -- autograded notebooks -------------------------------------------------
    def _write_notebooks(self, student: str, submitted: Path, result: dict) -> None:
        graded = GradeResult.from_json(result)
        out_dir = CourseDir(self.root).autograded(student)
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in ("timestamp.txt", "submission_secret.txt"):  # nbgrader's feedback exchange needs both
            if (submitted / name).is_file():
                shutil.copyfile(submitted / name, out_dir / name)
        for notebook in self.assignment.notebooks:
            stem = notebook.name
            release_cells = _release_cells(self.root, stem)
            nb, problem = self._load_submitted(submitted / f"{stem}.ipynb", stem)
            seen = set()
            for cell in nb.cells:
                meta = nbgrader_meta(cell)
                grade_id = meta.get("grade_id")
                if grade_id in release_cells and meta.get("grade") and not meta.get("solution"):
                    released = release_cells[grade_id]
                    cell["source"] = HIDDEN.sub("", "".join(released["source"]))
                    cell["metadata"]["nbgrader"] = copy.deepcopy(nbgrader_meta(released))
                    if grade_id in seen:
                        cell["outputs"] = []
                        continue
                    cell["outputs"] = _grade_output(graded.tasks.get(grade_id))
                    seen.add(grade_id)
            for grade_id, released in release_cells.items():
                meta = nbgrader_meta(released)
                if meta.get("grade") and not meta.get("solution") and grade_id not in seen:
                    cell = nbformat.from_dict(copy.deepcopy(released))
                    cell["source"] = HIDDEN.sub("", "".join(released["source"]))
                    cell["outputs"] = _grade_output(graded.tasks.get(grade_id))
                    nb.cells.append(cell)
            if problem:
                nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"**Grading note:** {problem}"))
            nbformat.write(nb, out_dir / f"{stem}.ipynb")

    def _load_submitted(self, path: Path, stem: str):
        """The submitted notebook as nbformat, or the release version plus the reason it was unusable."""
        try:
            read_cells(path)
            nb = nbformat.read(path, as_version=4)
            nbformat.validate(nb)
            return nb, None
        except NotebookError as exc:
            problem = str(exc)
        except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds of errors
            problem = f"{path.name}: not a valid notebook ({type(exc).__name__})"
        nb = nbformat.read(CourseDir(self.root).release_notebook(stem), as_version=4)
        return nb, problem


def exported_totals(root: Path, db_url: str | None = None) -> dict[str, float]:
    """Total score per student of the assignment, late penalties applied, as nbgrader computes it."""
    return {student: info["score"] for student, info in student_summaries(root, db_url).items()}


def student_summaries(root: Path, db_url: str | None = None) -> dict[str, dict]:
    """Per student: ``score`` (after the late penalty), ``raw``, ``penalty``, ``max_score`` (autograded +
    manual), ``manual_max``, ``manual_pending`` (answers awaiting a grader) and their points, ``duedate``
    (the student's effective due date, extension included, or None)."""
    url, course_id = db_url_of(root, db_url)
    out: dict[str, dict] = {}
    with Gradebook(url, course_id) as gb:
        try:
            submissions = gb.assignment_submissions(ASSIGNMENT)
        except MissingEntry:
            return out
        for submission in submissions:
            pending = pending_points = manual_max = 0.0
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.cell.cell_type == "markdown":
                        manual_max += float(grade.max_score)
                        if grade.needs_manual_grade:
                            pending += 1
                            pending_points += float(grade.max_score)
            raw = float(submission.score)
            penalty = float(submission.late_submission_penalty or 0.0)
            out[submission.student.id] = {
                "score": max(0.0, raw - penalty),
                "raw": raw,
                "penalty": penalty,
                "max_score": float(submission.max_score),
                "manual_max": manual_max,
                "manual_pending": int(pending),
                "manual_pending_points": pending_points,
                "duedate": submission.duedate,
            }
    return out


def grant_extension(
    root: Path,
    student: str,
    days: float | None = None,
    until: datetime | None = None,
    db_url: str | None = None,
) -> dict:
    """Give ``student`` an extension on the assignment (``days`` after the due date, or ``until`` a date;
    ``days=0`` removes it) and recompute their late penalty at once.

    Returns ``{"duedate", "effective_duedate", "penalty_before", "penalty"}``. Raises
    :class:`GradebookNotReady` (one sentence) when the assignment has no due date or is not in the gradebook.
    A student without a submission yet gets an empty one to hold the extension (as nbgrader keeps it there).
    """
    from mlplab.course.late import effective_duedate

    writer = Writer(root, db_url=db_url)
    try:
        gb = writer.gradebook
        due = writer.assignment.duedate
        if due is None:
            raise GradebookNotReady(
                f"assignment {ASSIGNMENT!r} has no due date, so there is nothing to extend: set one with "
                f"`nbgrader db assignment add {ASSIGNMENT} --duedate=...`"
            )
        if until is not None:
            until = parse_utc(until) if isinstance(until, str) else until
            if until.tzinfo is not None:
                until = until.astimezone(UTC).replace(tzinfo=None)
            extension = until - due
            if extension.total_seconds() < 0:
                raise GradebookNotReady(f"{until} is before the due date {due}: an extension cannot shorten it")
        else:
            if days is None or days < 0:
                raise GradebookNotReady("give --days N (N >= 0) or --until DATE")
            extension = timedelta(days=days)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)
            try:
                gb.find_student(student)
            except MissingEntry:
                gb.add_student(student)
            try:
                submission = gb.find_submission(ASSIGNMENT, student)
            except MissingEntry:
                submission = gb.add_submission(ASSIGNMENT, student)
            before = float(submission.late_submission_penalty or 0.0)
            submission.extension = extension if extension.total_seconds() > 0 else None
            gb.db.commit()
        writer.refresh_penalties([student])
        submission = gb.find_submission(ASSIGNMENT, student)
        return {
            "duedate": due,
            "effective_duedate": effective_duedate(due, submission.extension),
            "penalty_before": before,
            "penalty": float(submission.late_submission_penalty or 0.0),
        }
    finally:
        writer.close()
