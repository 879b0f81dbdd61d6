"""Where the course lives and what its tasks are.

The task table is read from the instructor's source notebooks: every
autograder-test cell (``grade: true``, ``solution: false``) is one task whose
id is the cell's nbgrader ``grade_id`` and whose points are the cell's points.
Manually graded answer cells are listed separately.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from mlplab.notebooks import nbgrader_meta, read_cells, solution_code_cells

ASSIGNMENT = "mlp"


TOOLKIT = Path(__file__).resolve().parent  # the installed mlplab package, wherever it was installed from
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
    graders = CourseDir(root).graders
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


def submitted_file_tasks(root: Path | None = None) -> dict[str, tuple[str, ...]]:
    """Tasks that grade a file the student submits (trained weights), not code: task id -> file names
    (``SUBMITTED_FILES`` of the course's ``grader_tests/conftest.py``; empty when it has none, or has no
    graders at all, as a scratch copy made for nbgrader has not)."""
    root = (root or course_root()).resolve()
    if not (root / GRADERS / "conftest.py").is_file():
        return {}
    use_graders(root)
    from grader_tests import conftest  # noqa: PLC0415 - the course's graders, found through use_graders

    return dict(getattr(conftest, "SUBMITTED_FILES", {}))


def submitted_file_names(root: Path | None = None) -> tuple[str, ...]:
    """Every file name of :func:`submitted_file_tasks`: files students submit, never files they are given."""
    return tuple(sorted({name for files in submitted_file_tasks(root).values() for name in files}))


@dataclass(frozen=True)
class CourseDir:
    """A course directory and every path in it (nbgrader's layout plus the toolkit's own folders).

    The one place a course path is built: ``CourseDir(root).submitted("ada")`` rather than
    ``root / "submitted" / "ada" / "mlp"``. :meth:`here` is the course of the working directory (or
    ``--course`` / ``$MLPLAB_COURSE_ROOT``).
    """

    root: Path
    assignment: str = ASSIGNMENT

    @classmethod
    def here(cls, root: Path | None = None, assignment: str = ASSIGNMENT) -> CourseDir:
        """The course at ``root`` (resolved), else :func:`course_root`."""
        return cls((root or course_root()).resolve(), assignment)

    @property
    def config(self) -> Path:
        return self.root / CONFIG

    @property
    def graders(self) -> Path:
        """``grader_tests/``: the hidden graders (a package imported by :func:`use_graders`)."""
        return self.root / GRADERS

    @property
    def source(self) -> Path:
        """``source/<assignment>/``: the instructor's notebooks (solutions + hidden tests) and ``labutils``."""
        return self.root / "source" / self.assignment

    @property
    def release(self) -> Path:
        return self.root / "release" / self.assignment

    @property
    def solutions(self) -> Path:
        return self.root / "solutions" / self.assignment

    @property
    def labutils(self) -> Path:
        """The provided helper package of the source (the release holds the students' copy)."""
        return self.source / "labutils"

    @property
    def release_labutils(self) -> Path:
        """The students' copy of the helper package: what the sandbox binds read-only."""
        return self.release / "labutils"

    @property
    def submitted_root(self) -> Path:
        return self.root / "submitted"

    def submitted(self, student: str) -> Path:
        """``submitted/<student>/<assignment>/``: a collected submission (never written by the toolkit)."""
        return self.submitted_root / student / self.assignment

    def submissions(self) -> list[tuple[str, Path]]:
        """(student, folder) of every collected submission of the assignment, by student id."""
        return [(f.parent.name, f) for f in sorted(self.submitted_root.glob(f"*/{self.assignment}")) if f.is_dir()]

    def autograded(self, student: str) -> Path:
        """``autograded/<student>/<assignment>/``: the autograded notebooks nbgrader's feedback reads."""
        return self.root / "autograded" / student / self.assignment

    @property
    def state(self) -> Path:
        """``autograded/.mlplab/``: the toolkit's own records (cached results, answer fingerprints)."""
        return self.root / "autograded" / ".mlplab"

    def feedback(self, student: str) -> Path:
        return self.root / "feedback" / student / self.assignment

    def source_notebooks(self) -> list[Path]:
        """The assignment's source notebooks in teaching order."""
        return sorted(self.source.glob("*.ipynb"))

    def release_notebook(self, stem: str) -> Path:
        return self.release / f"{stem}.ipynb"

    def content_hash(self) -> str:
        return content_hash(self.root)

    def tasks(self) -> dict[str, Task]:
        return tasks(self.root)

    def manual_tasks(self) -> dict[str, ManualTask]:
        return manual_tasks(self.root)

    def solution_cells(self, stem: str) -> dict[str, str]:
        """grade_id -> source (markers kept) of every code solution cell of the source notebook ``stem``, in
        notebook order: the reference answers."""
        return solution_code_cells(json.loads((self.source / f"{stem}.ipynb").read_text())["cells"])


def source_dir(root: Path | None = None) -> Path:
    return CourseDir(root or course_root()).source


def release_dir(root: Path | None = None) -> Path:
    return CourseDir(root or course_root()).release


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
    return CourseDir(root or course_root()).source_notebooks()


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


def _notebook_digest(path: Path) -> bytes:
    """What of a notebook grading can depend on: its code cells and every cell's nbgrader metadata (not the prose
    of markdown cells, not outputs); an unreadable notebook counts by its bytes."""
    try:
        cells = json.loads(path.read_bytes()).get("cells", [])
        kept = [
            [cell.get("cell_type"), cell.get("source") if cell.get("cell_type") == "code" else None,
             nbgrader_meta(cell)]
            for cell in cells
        ]
        return json.dumps(kept, sort_keys=True).encode()
    except (ValueError, AttributeError, TypeError):
        return path.read_bytes()


def content_hash(root: Path | None = None, *, toolkit: bool = True, extra: tuple[tuple[str, bytes], ...] = ()) -> str:
    """sha256 (hex) of everything a grade depends on, so a change to any of it regrades:

    * the installed toolkit: every ``.py`` of the ``mlplab`` package (:data:`TOOLKIT`, which a course made with
      ``mlplab quickstart`` does not contain: the toolkit is installed, not copied);
    * the course's graders: ``grader_tests/**/*.py`` and ``pytest.ini``;
    * the course's source: ``source/<assignment>/**/*.py`` (``labutils``) and the notebooks' code cells and
      nbgrader metadata (the reference implementation, the task table).

    Paths enter relative to their folder, so the same toolkit and course hash the same wherever they live.
    Autograde's result cache, the grading service's cache and the grader catalogue all key on it.

    ``toolkit=False`` leaves the toolkit out (the mutation score keys on the course's graders and reference
    only, so an unrelated toolkit change does not demand its long re-run); ``extra`` adds named inputs
    (e.g. the mutation operators).
    """
    root = (root or course_root()).resolve()
    digest = hashlib.sha256()

    def add(name: str, data: bytes) -> None:
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())

    def files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
        found = folder.rglob("*") if folder.is_dir() else ()
        return sorted(
            p for p in found
            if p.is_file() and p.suffix in suffixes and "__pycache__" not in p.parts
            and ".ipynb_checkpoints" not in p.parts
        )

    for path in files(TOOLKIT, (".py",)) if toolkit else ():
        add("mlplab/" + path.relative_to(TOOLKIT).as_posix(), path.read_bytes())
    course = CourseDir(root)
    for path in files(course.graders, (".py", ".ini")):
        add(path.relative_to(root).as_posix(), path.read_bytes())
    for path in files(course.source, (".py", ".ipynb")):
        data = _notebook_digest(path) if path.suffix == ".ipynb" else path.read_bytes()
        add(path.relative_to(root).as_posix(), data)
    for name, data in extra:
        add("extra/" + name, data)
    return digest.hexdigest()
