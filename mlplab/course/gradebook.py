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
import json
import re
import shutil
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.utils import parse_utc
from sqlalchemy.exc import SAWarning
from traitlets.config import Config, PyFileConfigLoader
from traitlets.utils.importstring import import_item

from mlplab.course.tasks import ASSIGNMENT, release_dir
from mlplab.notebooks import NotebookError, read_cells

HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
TEXT_STUB = "YOUR ANSWER HERE"


def course_config(root: Path) -> Config:
    """The course's nbgrader configuration (nbgrader_config.py)."""
    loader = PyFileConfigLoader("nbgrader_config.py", path=str(root))
    return loader.load_config()


def db_url_of(root: Path, override: str | None = None) -> tuple[str, str]:
    config = course_config(root)
    course = config.CourseDirectory
    db_url = override or course.get("db_url") or f"sqlite:///{root / 'gradebook.db'}"
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
    path = release_dir(root) / f"{stem}.ipynb"
    nb = json.loads(path.read_text())
    return {
        c["metadata"]["nbgrader"]["grade_id"]: c
        for c in nb["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    }


def unanswered(answer: str | None, released: str | None) -> bool:
    """Whether a written answer cell was left as released (nothing for a grader to read).

    The released cell keeps the question above nbgrader's text stub, so an untouched cell is not just
    the stub: it is the released source itself.
    """
    if answer is None:
        return True
    text = answer.strip()
    return text in ("", TEXT_STUB) or (released is not None and text == released.strip())


def _grade_output(task: dict | None) -> list:
    if task is None:
        lines = ["not graded"]
        score = 0.0
    else:
        lines = list(task["messages"]) or ["all checks passed"]
        lines.append(f"{task['passed']}/{task['passed'] + task['failed']} checks passed")
        score = task["score"]
    return [
        nbformat.v4.new_output("stream", name="stdout", text="\n".join(lines) + "\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": repr(float(score))}, execution_count=1),
    ]


class Writer:
    """Writes grading results of one assignment for many students, one at a time."""

    def __init__(self, root: Path, db_url: str | None = None) -> None:
        self.root = root
        url, course_id = db_url_of(root, db_url)
        self.gradebook = Gradebook(url, course_id)
        config = course_config(root)
        plugin = config.AssignLatePenalties.get("plugin_class", LateSubmissionPlugin)
        self.late = (import_item(plugin) if isinstance(plugin, str) else plugin)(config=config)
        self.assignment = self.gradebook.find_assignment(ASSIGNMENT)
        self._release: dict[str, dict[str, dict]] = {}

    def close(self) -> None:
        self.gradebook.close()

    # -- gradebook ---------------------------------------------------------
    def write(self, student: str, result: dict) -> None:
        """Record ``result`` (the ``mlplab grade --json`` object) for ``student``."""
        with warnings.catch_warnings():
            # nbgrader's own add_submission triggers SQLAlchemy autoflush warnings, and nbformat warns
            # about (and repairs) duplicated cell ids in reorganised notebooks; both are harmless here
            warnings.simplefilter("ignore", SAWarning)
            warnings.filterwarnings("ignore", module="nbformat")
            self._write(student, result)

    def _write(self, student: str, result: dict) -> None:
        submitted = self.root / "submitted" / student / ASSIGNMENT
        gb = self.gradebook
        gb.update_or_create_student(student)
        timestamp = read_timestamp(submitted)
        if timestamp is not None:
            submission = gb.update_or_create_submission(ASSIGNMENT, student, timestamp=timestamp)
        else:
            submission = gb.update_or_create_submission(ASSIGNMENT, student)
        answers = self._manual_answers(submitted)
        for notebook in self.assignment.notebooks:
            for cell in notebook.grade_cells:
                grade = gb.find_grade(cell.name, notebook.name, ASSIGNMENT, student)
                if cell.cell_type == "code":
                    task = result["tasks"].get(cell.name)
                    grade.auto_score = float(task["score"]) if task else 0.0
                    grade.needs_manual_grade = False
                else:
                    if unanswered(answers.get(cell.name), self._released_text(notebook.name, cell.name)):
                        grade.auto_score = 0.0
                        grade.needs_manual_grade = False
                    else:
                        grade.auto_score = None
                        grade.needs_manual_grade = True
        gb.db.commit()
        seconds_late = submission.total_seconds_late
        for nb in submission.notebooks:
            if seconds_late > 0:
                nb.late_submission_penalty = self.late.late_submission_penalty(student, nb.score, seconds_late)
            else:
                nb.late_submission_penalty = None
        gb.db.commit()
        self._write_notebooks(student, submitted, result)

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
        out_dir = self.root / "autograded" / student / ASSIGNMENT
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
                meta = cell.get("metadata", {}).get("nbgrader", {})
                grade_id = meta.get("grade_id")
                if grade_id in release_cells and meta.get("grade") and not meta.get("solution"):
                    released = release_cells[grade_id]
                    cell["source"] = HIDDEN.sub("", "".join(released["source"]))
                    cell["metadata"]["nbgrader"] = copy.deepcopy(released["metadata"]["nbgrader"])
                    if grade_id in seen:
                        cell["outputs"] = []
                        continue
                    cell["outputs"] = _grade_output(result["tasks"].get(grade_id))
                    seen.add(grade_id)
            for grade_id, released in release_cells.items():
                meta = released["metadata"]["nbgrader"]
                if meta.get("grade") and not meta.get("solution") and grade_id not in seen:
                    cell = nbformat.from_dict(copy.deepcopy(released))
                    cell["source"] = HIDDEN.sub("", "".join(released["source"]))
                    cell["outputs"] = _grade_output(result["tasks"].get(grade_id))
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
        nb = nbformat.read(release_dir(self.root) / f"{stem}.ipynb", as_version=4)
        return nb, problem


def exported_totals(root: Path, db_url: str | None = None) -> dict[str, float]:
    """Total score per student of the assignment, late penalties applied, as nbgrader computes it."""
    url, course_id = db_url_of(root, db_url)
    totals: dict[str, float] = {}
    with Gradebook(url, course_id) as gb:
        try:
            for submission in gb.assignment_submissions(ASSIGNMENT):
                totals[submission.student.id] = float(submission.score) - float(submission.late_submission_penalty)
        except MissingEntry:
            pass
    return totals
