"""``mlplab demo``: a simulated class taken through the whole nbgrader workflow, offline.

In a scratch course (``demo-output/course``, a copy of this repository's
course files) it:

1. generates the release and the solutions (``nbgrader generate_assignment`` /
   ``generate_solution``) and sets a due date;
2. releases the assignment through a local nbgrader exchange;
3. for every simulated student: ``nbgrader fetch_assignment``, edits the fetched
   notebooks the way that student would, ``nbgrader submit``;
4. ``nbgrader collect``; hardened, parallel ``mlplab autograde``;
5. ``nbgrader generate_feedback`` + ``release_feedback``; ``nbgrader export`` to CSV;
6. a class report (per-task pass rate, score histogram: PNG + HTML).

The students are built from the *fetched* release notebooks, filled with the
reference solutions, the bug catalogue (``grader_tests/mutants``), correct
variants, and a few hostile or broken submissions.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mlplab.course.generate import generate, nbgrader
from mlplab.coursedir import ASSIGNMENT, CourseDir, course_root
from mlplab.notebooks import nbgrader_meta
from mlplab.validity.mutants import apply_to_source, edit_notebook, load_change, solution_sources

COURSE_PARTS = ("nbgrader_config.py", "source", "grader_tests")


@dataclass
class Student:
    """A simulated student: an id, a description and how they edit the fetched notebooks."""

    id: str
    about: str
    edit: Callable[[Path, Path], None]  # (fetched assignment folder, course root)
    late: bool = False


# -- how students edit their notebooks -------------------------------------------------


def _reference_edits(root: Path, stems: list[str] | None = None) -> dict[str, dict[str, str]]:
    out = {}
    for nb in CourseDir(root).source_notebooks():
        if stems is None or nb.stem in stems:
            out[nb.stem] = solution_sources(nb)
    return out


def _fill(folder: Path, edits: dict[str, dict[str, str]]) -> None:
    for stem, cells in edits.items():
        if cells:
            edit_notebook(folder / f"{stem}.ipynb", cells)


def solve(stems: list[str] | None = None) -> Callable[[Path, Path], None]:
    """Fill the solution cells of the given notebooks (all when None) with the reference."""

    def edit(folder: Path, root: Path) -> None:
        _fill(folder, _reference_edits(root, stems))

    return edit


def with_changes(*names: str) -> Callable[[Path, Path], None]:
    """The reference, with mutants/variants (``mutants/NAME`` or ``variants/NAME``) applied."""

    def edit(folder: Path, root: Path) -> None:
        edits = _reference_edits(root)
        for name in names:
            change = load_change(CourseDir(root).graders / f"{name}.py")
            for cells in edits.values():
                if change.cell in cells:
                    cells[change.cell] = apply_to_source(change, cells[change.cell])
        _fill(folder, edits)

    return edit


CHEAT = """
import numpy as np
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
import builtins
builtins.print("All tests passed! 100/100")
for _path in ("../../gradebook.db", "/work/gradebook.db", "../../source/mlp/01_layers.ipynb"):
    try:
        open(_path, "a").write("hacked")
    except OSError:
        pass
with open("/tmp/results.json", "w") as _fh:
    _fh.write('{"score": 100}')

class AlwaysEqual(np.ndarray):
    def __eq__(self, other):
        return True

def batchnorm_forward(x, gamma, beta, bn_param):
    return np.zeros_like(x).view(AlwaysEqual), None
"""


def cheat(folder: Path, root: Path) -> None:
    """Correct 01, then a batchnorm 'solution' that only tries to fool the graders."""
    edits = _reference_edits(root)
    edits["02_normalization"]["batchnorm_forward_solution"] = CHEAT
    _fill(folder, edits)


def truncate(stem: str) -> Callable[[Path, Path], None]:
    """The reference, but one notebook is cut off half way (invalid JSON)."""

    def edit(folder: Path, root: Path) -> None:
        solve()(folder, root)
        path = folder / f"{stem}.ipynb"
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])

    return edit


def hang_and_crash(folder: Path, root: Path) -> None:
    """affine_backward never returns; relu_forward kills its process; a top-level sleep."""
    edits = _reference_edits(root)
    edits["01_layers"]["affine_backward_solution"] = (
        "def affine_backward(dout, cache):\n    while True:\n        pass\n"
    )
    edits["01_layers"]["relu_forward_solution"] = "import os\n\ndef relu_forward(x):\n    os._exit(1)\n"
    edits["01_layers"]["softmax_loss_solution"] = (
        "import time\ntime.sleep(3600)\n\n" + edits["01_layers"]["softmax_loss_solution"]
    )
    _fill(folder, edits)


def reorganise(folder: Path, root: Path) -> None:
    """Deletes a grade cell, duplicates another, renames a function, prints warnings to stderr."""
    solve()(folder, root)
    path = folder / "01_layers.ipynb"
    nb = json.loads(path.read_text())
    cells = []
    for cell in nb["cells"]:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id == "relu_forward":
            continue  # deleted grade cell
        if grade_id == "affine_forward_solution":
            cell["source"] = "import warnings\nwarnings.warn('deprecated!')\n" + "".join(cell["source"])
        if grade_id == "softmax_loss_solution":
            cell["source"] = "".join(cell["source"]).replace("def softmax_loss(", "def softmax_cross_entropy(")
        cells.append(cell)
        if grade_id == "affine_backward":
            cells.append(json.loads(json.dumps(cell)))  # duplicated grade cell
    nb["cells"] = cells
    path.write_text(json.dumps(nb, indent=1))


def blank(folder: Path, root: Path) -> None:
    """Submits the fetched notebooks unchanged."""


def class_roster() -> list[Student]:
    """The simulated class (13 students)."""
    return [
        Student("ada", "reference solution", solve()),
        Student("bruno", "blank: submitted the release unchanged", blank),
        Student("chen", "partial: only 01_layers done", solve(["01_layers"])),
        Student("dara", "partial: 01 and 02 done", solve(["01_layers", "02_normalization"])),
        Student(
            "emil",
            "bugs: db axis, softmax without max shift",
            with_changes("mutants/affine_backward__db_wrong_axis", "mutants/softmax_loss__no_max_shift"),
        ),
        Student(
            "fatima",
            "bugs: relu_backward mutates dout, dropout p as drop probability",
            with_changes("mutants/relu_backward__mutates_dout", "mutants/dropout_forward__drop_probability"),
        ),
        Student(
            "gus", "bug: layernorm backward over the batch axis", with_changes("mutants/layernorm_backward__batch_axis")
        ),
        Student(
            "hana",
            "correct alternative implementations (einsum, np.where)",
            with_changes("variants/affine_backward__einsum", "variants/relu_forward__where"),
        ),
        Student("ivan", "cheater: monkeypatching, fake output, forged files", cheat),
        Student("jo", "malformed: 02_normalization.ipynb truncated", truncate("02_normalization")),
        Student("kai", "late: reference solution submitted after the deadline", solve(), late=True),
        Student("lena", "hangs and crashes: infinite loop, os._exit, top-level sleep", hang_and_crash),
        Student("milo", "reorganised: deleted/duplicated cells, renamed function, warnings", reorganise),
    ]


# -- the workflow ----------------------------------------------------------------------


def _scratch_course(root: Path, out: Path) -> Path:
    course = out / "course"
    if course.exists():
        shutil.rmtree(course)
    course.mkdir(parents=True)
    for part in COURSE_PARTS:
        src = root / part
        if src.is_dir():
            shutil.copytree(src, course / part, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        else:
            shutil.copy2(src, course / part)
    return course


def run_demo(out: Path | None = None, jobs: int = 2, progress: bool = True) -> dict:
    """Run the whole simulated term; returns a summary (paths, table, timings)."""
    started = time.monotonic()
    started_at = time.time()
    root = course_root()
    out = (out or root / "demo-output").resolve()
    out.mkdir(parents=True, exist_ok=True)
    course = _scratch_course(root, out)
    exchange = out / "exchange"
    shutil.rmtree(exchange, ignore_errors=True)
    exchange.mkdir()
    students_dir = out / "students"
    shutil.rmtree(students_dir, ignore_errors=True)
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    ex = f"--Exchange.root={exchange}"
    previous_root = os.environ.get("MLPLAB_COURSE_ROOT")
    os.environ["MLPLAB_COURSE_ROOT"] = str(course)
    try:
        summary = _run_steps(course, out, exchange, students_dir, db_url, ex, jobs, progress, started)
        summary["started_at"] = started_at  # wall clock: what the run may have touched is newer
        return summary
    finally:
        if previous_root is None:
            os.environ.pop("MLPLAB_COURSE_ROOT", None)
        else:
            os.environ["MLPLAB_COURSE_ROOT"] = previous_root


def _run_steps(
    course: Path,
    out: Path,
    exchange: Path,
    students_dir: Path,
    db_url: str,
    ex: str,
    jobs: int,
    progress: bool,
    started: float,
) -> dict:
    from mlplab.autograde import autograde, class_table
    from mlplab.course.gradebook import exported_totals, student_summaries
    from mlplab.course.report import write_report

    steps: list[tuple[str, float]] = []

    def step(name: str, t0: float) -> None:
        steps.append((name, round(time.monotonic() - t0, 1)))
        if progress:
            print(f"[demo] {name}: {steps[-1][1]} s", flush=True)

    t0 = time.monotonic()
    generate(course, db_url=db_url)
    roster = class_roster()
    nbgrader(course, "db", "student", "import", str(_roster_csv(out, roster)), db_url=db_url)
    step("generate release + solutions", t0)

    t0 = time.monotonic()
    due = datetime.now(UTC) + timedelta(hours=1)
    nbgrader(course, "db", "assignment", "add", ASSIGNMENT, f"--duedate={due.isoformat()}", db_url=db_url)
    nbgrader(course, "release_assignment", ASSIGNMENT, "--force", ex, db_url=db_url)
    step("release through the exchange", t0)

    t0 = time.monotonic()
    for student in roster:
        home = students_dir / student.id
        home.mkdir(parents=True)
        student_exchange("fetch", home, exchange)
        student.edit(home / ASSIGNMENT, course)
    for student in roster:
        if not student.late:
            student_exchange("submit", students_dir / student.id, exchange, student.id)
    # the deadline passes: move the due date to now, then the late students submit
    deadline = datetime.now(UTC)
    nbgrader(course, "db", "assignment", "add", ASSIGNMENT, f"--duedate={deadline.isoformat()}", db_url=db_url)
    time.sleep(1.1)
    for student in roster:
        if student.late:
            student_exchange("submit", students_dir / student.id, exchange, student.id)
    nbgrader(course, "collect", ASSIGNMENT, ex, db_url=db_url)
    step(f"{len(roster)} students fetch, work, submit; collect", t0)

    t0 = time.monotonic()
    results = autograde(course, jobs=jobs, db_url=db_url, progress=progress)
    step(f"mlplab autograde --jobs {jobs}", t0)

    t0 = time.monotonic()
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--force", db_url=db_url)
    nbgrader(course, "release_feedback", ASSIGNMENT, ex, db_url=db_url)
    grades_csv = out / "grades.csv"
    nbgrader(course, "export", f"--to={grades_csv}", db_url=db_url)
    step("feedback generated and released; grades exported", t0)

    t0 = time.monotonic()
    totals = exported_totals(course, db_url)
    report = write_report(results, totals, {s.id: s.about for s in roster}, out / "report")
    step("class report", t0)

    table = class_table(results, student_summaries(course, db_url))
    summary = {
        "seconds": round(time.monotonic() - started, 1),
        "steps": steps,
        "table": table,
        "course": str(course),
        "gradebook": db_url,
        "grades_csv": str(grades_csv),
        "feedback": str(course / "feedback"),
        "autograded": str(course / "autograded"),
        "report_html": str(report["html"]),
        "report_png": str(report["png"]),
        "results": results,
        "totals": totals,
    }
    (out / "summary.json").write_text(json.dumps({k: v for k, v in summary.items() if k != "results"}, indent=1))
    return summary


def student_exchange(action: str, home: Path, exchange: Path, student: str | None = None) -> None:
    """``nbgrader fetch_assignment`` / ``nbgrader submit`` for one student, in this process.

    The same nbgrader exchange classes the CLI runs, without starting a Python interpreter per
    student and command.
    """
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeFetchAssignment, ExchangeSubmit
    from traitlets.config import Config

    config = Config()
    config.Exchange.root = str(exchange)
    config.Exchange.assignment_dir = str(home)
    config.Exchange.cache = str(exchange.parent / "student-cache")  # not the real students' cache (~/.local)
    config.CourseDirectory.course_id = "mlp-lab"
    config.CourseDirectory.assignment_id = ASSIGNMENT
    if student:
        config.CourseDirectory.student_id = student
    cls = {"fetch": ExchangeFetchAssignment, "submit": ExchangeSubmit}[action]
    coursedir = CourseDirectory(config=config)
    cls(coursedir=coursedir, authenticator=Authenticator(config=config), config=config).start()


def _roster_csv(out: Path, roster: list[Student]) -> Path:
    path = out / "students.csv"
    lines = ["id,first_name,last_name,email"]
    lines += [f"{s.id},{s.id.capitalize()},Student,{s.id}@example.edu" for s in roster]
    path.write_text("\n".join(lines) + "\n")
    return path


def main(out: Path | None = None, jobs: int = 2) -> int:
    summary = run_demo(out, jobs)
    print()
    print(summary["table"])
    print()
    print(f"Demo finished in {summary['seconds']} s. Written:")
    for key in ("course", "gradebook", "autograded", "feedback", "grades_csv", "report_html", "report_png"):
        print(f"  {key:<11} {summary[key]}")
    return 0


__all__ = ["class_roster", "run_demo", "main"]
