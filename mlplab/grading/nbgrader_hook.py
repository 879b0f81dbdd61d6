"""The bridge that lets stock ``nbgrader autograde`` run the hidden graders.

Every hidden grade cell of the source notebooks ends with::

    from mlplab.grading.nbgrader_hook import grade_task
    grade_task("affine_backward", globals())

When nbgrader executes the notebook, :func:`grade_task` reads the notebook's
code from disk (the same cells ``mlplab grade`` would load), runs the graders of
that one task in this kernel, prints the teaching messages of failed checks
and returns the earned points, which nbgrader records as partial credit.

This path runs student code in the grading kernel, exactly like stock nbgrader;
it exists so the kit fits courses that already use nbgrader. Authoritative,
tamper-proof scores come from ``mlplab autograde`` (sandboxed workers).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from mlplab.coursedir import CourseDir, course_root, tasks
from mlplab.grading.reference import units_defining
from mlplab.grading.runner import GradingPlugin, run_graders
from mlplab.notebooks import NotebookError, grading_code, read_cells
from mlplab.sandbox.student import LocalStudent, StudentError


def _notebook_path(stem: str, task_id: str, cwd: Path) -> Path:
    direct = cwd / f"{stem}.ipynb"
    if direct.is_file():
        return direct
    for candidate in sorted(cwd.glob("*.ipynb")):
        try:
            if any(c.grade_id == task_id for c in read_cells(candidate)):
                return candidate
        except NotebookError:
            continue
    raise FileNotFoundError(f"cannot find {stem}.ipynb next to the running notebook")


def grade_task(task_id: str, namespace: dict[str, Any] | None = None, cwd: str | Path | None = None) -> float:
    """Run the graders of ``task_id`` in-process and return the points earned.

    ``namespace`` is accepted for symmetry with the notebook call; the code
    graded is read from the notebook file so that composite tasks can swap in
    reference parts exactly as the sandboxed runner does.
    """
    root = course_root()
    table = tasks(root)
    if task_id not in table:
        raise KeyError(f"unknown task {task_id!r}")
    task = table[task_id]
    notebook = _notebook_path(task.notebook, task_id, Path(cwd or Path.cwd()))

    def factory(stem: str, reference_names: tuple[str, ...]) -> LocalStudent:
        try:
            units = grading_code(read_cells(notebook), CourseDir(root).labutils)
        except NotebookError as exc:
            raise StudentError("NotebookError", str(exc)) from None
        if reference_names:
            units = units + units_defining(reference_names, root)
        return LocalStudent(units)

    plugin = GradingPlugin(factory, table, {task_id}, submission_dir=notebook.parent)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_graders(plugin, root)
    result = plugin.results[task_id]
    for message in _in_language(result.messages, notebook, root):
        print(message)
    print(f"{task_id}: {result.passed}/{result.passed + result.failed} checks passed")
    return result.score


def _in_language(messages: list[str], notebook: Path, root: Path) -> list[str]:
    """The messages in the language of a translated edition's notebook (metadata ``mlplab.lang``)."""
    try:
        lang = json.loads(notebook.read_text(encoding="utf-8")).get("metadata", {}).get("mlplab", {}).get("lang")
    except (OSError, ValueError, AttributeError):
        return messages
    if not lang or lang == "en":
        return messages
    from mlplab.course.i18n import CatalogueError, message_table, translate_message

    try:
        table = message_table(lang, root)
    except CatalogueError:
        return messages
    return [translate_message(m, table) for m in messages]
