"""Where the course lives and what its tasks are.

The task table is read from the instructor's source notebooks: every
autograder-test cell (``grade: true``, ``solution: false``) is one task whose
id is the cell's nbgrader ``grade_id`` and whose points are the cell's points.
Manually graded answer cells are listed separately.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from mlplab.notebooks import read_cells

ASSIGNMENT = "mlp"


def course_root() -> Path:
    """The course directory: ``$MLPLAB_COURSE_ROOT`` or the repository holding this package."""
    env = os.environ.get("MLPLAB_COURSE_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parents[2]
    if (here / "nbgrader_config.py").is_file():
        return here
    cwd = Path.cwd().resolve()
    for parent in [cwd, *cwd.parents]:
        if (parent / "nbgrader_config.py").is_file() and (parent / "source").is_dir():
            return parent
    raise FileNotFoundError("cannot find the course root (a folder with nbgrader_config.py and source/)")


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
