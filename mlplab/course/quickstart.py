"""``mlplab quickstart DIR``: a complete course directory of its own (nbgrader's ``quickstart`` convention).

The new course holds everything the commands need, so that run from inside it (or with ``--course DIR``)
every artefact (release, gradebook, submissions, autograded notebooks, feedback, exchange) lands in it:

    DIR/nbgrader_config.py   course id, gradebook URL, exchange root (inside DIR unless configured)
    DIR/source/mlp/          the instructor notebooks and the provided helpers (labutils/)
    DIR/grader_tests/        the hidden graders (with their bug catalogue and correct variants)
    DIR/release/ solutions/ autograded/   empty until `mlplab generate` / `mlplab autograde`
    DIR/README.md            the course's own first steps
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from mlplab.coursedir import ASSIGNMENT, CONFIG, GRADERS, CourseDir, CourseError, submitted_file_names

COURSE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
IGNORE = ("__pycache__", ".ipynb_checkpoints", "*.pyc", ".pytest_cache")

CONFIG_TEMPLATE = '''"""nbgrader configuration of the course {course_id!r} (made by `mlplab quickstart`)."""

import os

c = get_config()  # noqa: F821 - provided by nbgrader/traitlets

c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.solution_directory = "solutions"
# The gradebook: SQLite in the course folder unless $MLPLAB_DB_URL names another database (PostgreSQL...).
c.CourseDirectory.db_url = os.environ.get(
    "MLPLAB_DB_URL", "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")
)
# The exchange (release_assignment / fetch_assignment / submit / collect): {exchange_note}
# Students' own nbgrader_config.py must name the same folder (see the course README.md).
c.Exchange.root = os.environ.get("MLPLAB_EXCHANGE", {exchange_expr})
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "data", ".pytest_cache"]

# Files students submit (the weights of the optional task fc_net_challenge): `nbgrader autograde` must not
# overwrite them with a copy from source/.
c.Autograde.exclude_overwriting = {{"mlp": {submitted!r}}}

c.ExecutePreprocessor.timeout = 300
c.ExecutePreprocessor.interrupt_on_timeout = True
c.Execute.timeout = 300

c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

from nbgrader.preprocessors import (  # noqa: E402
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    IncludeHeaderFooter,
    LockCells,
)

c.GenerateSolution.preprocessors = [IncludeHeaderFooter, LockCells, ClearOutput, ClearHiddenTests, ClearMarkScheme]

# Late submissions lose {percent:g}% of the total (autograded + manual) per started day after the student's
# due date (extensions included); `mlplab extend` and `mlplab autograde` keep the penalty current.
c.AssignLatePenalties.plugin_class = "mlplab.course.late.PercentPerDayPenalty"
c.PercentPerDayPenalty.percent_per_day = {percent!r}
# `nbgrader export` recomputes every penalty and shows each student's effective due date.
c.ExportApp.plugin_class = "mlplab.course.late.LateAwareCsvExportPlugin"
# Hand-grading in the formgrader (and every other gradebook change) recomputes the penalty at once.
from mlplab.course.late import penalties_follow_grades  # noqa: E402

penalties_follow_grades(c)
'''

README_TEMPLATE = """# Course `{course_id}`

Made by `mlplab quickstart`. Run every command from this folder (or pass `--course {root}`); activate the
toolkit's virtual environment first (`source <mlplab checkout>/.venv/bin/activate`) so that `mlplab`,
`nbgrader` and `alembic` are on PATH.

```bash
mlplab generate                        # release/ and solutions/ from source/ (and the gradebook's assignment)
mlplab grade source/mlp                # the reference gets full marks (but the optional challenge: no npz)
nbgrader release_assignment mlp        # into the exchange: {exchange}
nbgrader collect mlp --update          # after students submit (--update takes resubmissions too)
mlplab autograde mlp                   # sandboxed graders into gradebook.db
jupyter lab                            # Nbgrader -> Formgrader: hand-grade the written answers
mlplab extend mlp STUDENT --days 2     # an extension: the late penalty follows at once
nbgrader generate_feedback mlp && nbgrader release_feedback mlp
nbgrader export --to grades.csv        # totals, late penalties and effective due dates
```

Students need in `~/.jupyter/nbgrader_config.py`:

```python
c = get_config()
c.CourseDirectory.course_id = "{course_id}"
c.Exchange.root = "{exchange}"
```

The full walk-through is docs/instructor-guide.md of the MLP Lab kit.
"""


def kit_root() -> Path:
    """The course kit this toolkit ships with: the checkout holding the ``mlplab`` package."""
    root = Path(__file__).resolve().parents[2]
    if not CourseDir(root).source.is_dir() or not CourseDir(root).graders.is_dir():
        raise CourseError(f"the course kit's material (source/{ASSIGNMENT}, {GRADERS}/) is not beside mlplab at {root}")
    return root


def quickstart(
    destination: Path,
    course_id: str | None = None,
    exchange: str | None = None,
    percent_per_day: float = 10.0,
    force: bool = False,
    template: Path | None = None,
) -> Path:
    """Create the course directory ``destination``; returns its resolved path.

    course_id: nbgrader's course id (default: the folder's name); exchange: the exchange root (default
    ``DIR/exchange``, created here); template: the course whose ``source/`` and ``grader_tests/`` are copied
    (default the kit). Raises :class:`CourseError` when ``destination`` already holds a course or files
    (unless ``force``) or the course id is unusable.
    """
    destination = destination.expanduser().resolve()
    course_id = course_id or destination.name
    if not COURSE_ID.match(course_id):
        raise CourseError(f"{course_id!r} is not a usable course id (letters, digits, '.', '_', '-')")
    if (destination / CONFIG).exists() and not force:
        raise CourseError(f"{destination} is already a course (it has {CONFIG}); pass --force to overwrite it")
    if destination.exists() and any(destination.iterdir()) and not force:
        raise CourseError(f"{destination} is not empty; choose a new folder or pass --force")
    template = (template or kit_root()).resolve()
    if template == destination:
        raise CourseError("a course cannot be made from itself")
    destination.mkdir(parents=True, exist_ok=True)
    submitted = list(submitted_file_names(template))  # never a trained model left in the template's source/
    ignore = shutil.ignore_patterns(*IGNORE, *submitted)
    for part in ("source", GRADERS, "i18n"):  # i18n/: the translation catalogues (`mlplab generate --lang zh`)
        if part == "i18n" and not (template / part).is_dir():
            continue
        shutil.rmtree(destination / part, ignore_errors=True)
        shutil.copytree(template / part, destination / part, ignore=ignore)
    for empty in ("release", "solutions", "autograded"):
        (destination / empty).mkdir(exist_ok=True)
    if exchange:
        exchange_path = Path(exchange).expanduser().resolve()
        exchange_expr = repr(str(exchange_path))
        exchange_note = f"{exchange_path} (chosen at quickstart; $MLPLAB_EXCHANGE overrides it)."
    else:
        exchange_path = destination / "exchange"
        exchange_expr = 'os.path.join(c.CourseDirectory.root, "exchange")'
        exchange_note = "inside the course folder ($MLPLAB_EXCHANGE overrides it)."
    exchange_path.mkdir(parents=True, exist_ok=True)
    text = CONFIG_TEMPLATE.format(
        course_id=course_id, exchange_expr=exchange_expr, exchange_note=exchange_note, percent=float(percent_per_day),
        submitted=submitted,
    )
    (destination / CONFIG).write_text(text)
    readme = README_TEMPLATE.format(course_id=course_id, root=destination, exchange=exchange_path)
    (destination / "README.md").write_text(readme)
    (destination / ".gitignore").write_text(
        "gradebook.db\nsubmitted/\nautograded/\nfeedback/\nexchange/\n__pycache__/\n.ipynb_checkpoints/\n"
    )
    return destination
