"""Where the course lives and what its tasks are.

The task table is read from the instructor's source notebooks: every
autograder-test cell (``grade: true``, ``solution: false``) is one task whose
id is the cell's nbgrader ``grade_id`` and whose points are the cell's points.
Manually graded answer cells are listed separately.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from mlplab.notebooks import read_cells

ASSIGNMENT = "mlp"


COURSE_ENV = "MLPLAB_COURSE_ROOT"
CONFIG = "nbgrader_config.py"
GRADERS = "grader_tests"


class CourseError(Exception):
    """The course cannot be found or is incomplete; the message is one sentence for the instructor."""


def find_course(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding ``nbgrader_config.py`` (like git), else None."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG).is_file():
            return folder
    return None


def course_root() -> Path:
    """The course directory: ``$MLPLAB_COURSE_ROOT`` (set by ``mlplab --course DIR``) or else the nearest
    folder at or above the working directory that holds ``nbgrader_config.py``.

    Raises :class:`CourseError` (one sentence) when there is none.
    """
    explicit = os.environ.get(COURSE_ENV)
    if explicit:
        path = Path(explicit).expanduser().resolve()
        if not (path / CONFIG).is_file():
            raise CourseError(
                f"{path} is not a course: it has no {CONFIG} (set by --course or ${COURSE_ENV}; "
                "create one with `mlplab quickstart DIR`)"
            )
        return path
    found = find_course(Path.cwd())
    if found is None:
        raise CourseError(
            f"{Path.cwd()} is not inside a course (no {CONFIG} here or in any parent folder): cd into one, "
            "pass --course DIR, or create one with `mlplab quickstart DIR`"
        )
    return found


def require_graders(root: Path) -> Path:
    """The course's ``grader_tests/`` folder; :class:`CourseError` when the course has none."""
    graders = root / GRADERS
    if not (graders / "conftest.py").is_file():
        raise CourseError(
            f"the course {root} has no {GRADERS}/ (the hidden graders): copy it from the course kit "
            "or create the course with `mlplab quickstart DIR`"
        )
    return graders


def use_graders(root: Path) -> Path:
    """Make ``import grader_tests`` load the graders of the course ``root`` in this process.

    The graders are a package named ``grader_tests`` imported from the course folder; a package of that
    name loaded earlier from another course (tests, the demo's scratch course) is forgotten first.
    """
    graders = require_graders(root)
    loaded = sys.modules.get(GRADERS)
    origin = getattr(loaded, "__file__", None)
    if loaded is not None and (origin is None or Path(origin).resolve().parent != graders.resolve()):
        for name in [n for n in sys.modules if n == GRADERS or n.startswith(GRADERS + ".")]:
            del sys.modules[name]
    for path in (str(graders), str(root)):  # the course first: `grader_tests` resolves to its folder
        while path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)
    importlib.invalidate_caches()
    return graders


def source_dir(root: Path | None = None) -> Path:
    return (root or course_root()) / "source" / ASSIGNMENT


def release_dir(root: Path | None = None) -> Path:
    return (root or course_root()) / "release" / ASSIGNMENT


@dataclass(frozen=True)
class Task:
    """One autograded task: the grade_id of a hidden test cell."""

    id: str
    notebook: str  # notebook stem, e.g. "01_layers"
    points: float


@dataclass(frozen=True)
class ManualTask:
    """A manually graded answer cell (written analysis, plots)."""

    id: str
    notebook: str
    points: float


def source_notebooks(root: Path | None = None) -> list[Path]:
    """The assignment's source notebooks in teaching order."""
    return sorted(source_dir(root).glob("*.ipynb"))


@lru_cache(maxsize=4)
def _load(root: Path) -> tuple[dict[str, Task], dict[str, ManualTask]]:
    tasks: dict[str, Task] = {}
    manual: dict[str, ManualTask] = {}
    for nb in source_notebooks(root):
        for cell in read_cells(nb):
            if not cell.grade or not cell.grade_id:
                continue
            if cell.is_test:
                tasks[cell.grade_id] = Task(cell.grade_id, nb.stem, cell.points)
            elif cell.solution:
                manual[cell.grade_id] = ManualTask(cell.grade_id, nb.stem, cell.points)
    return tasks, manual


def tasks(root: Path | None = None) -> dict[str, Task]:
    """Autograded tasks by id, in notebook order."""
    return dict(_load((root or course_root()).resolve())[0])


def manual_tasks(root: Path | None = None) -> dict[str, ManualTask]:
    """Manually graded cells by id."""
    return dict(_load((root or course_root()).resolve())[1])
