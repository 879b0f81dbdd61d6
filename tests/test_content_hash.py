"""One content hash (``mlplab.coursedir.content_hash``) keys autograde's cache, the service's cache and the
grader catalogue: it changes with the installed toolkit, the graders, labutils and the notebooks' code, and
not with a notebook's prose or where the course lives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlplab import coursedir
from mlplab.coursedir import content_hash

from .helpers.paths import ROOT


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A copy of the course's graded inputs (graders and source) in a folder of its own."""
    root = tmp_path / "course"
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.npz", "*.npy", "data")
    shutil.copytree(ROOT / "grader_tests", root / "grader_tests", ignore=ignore)
    shutil.copytree(ROOT / "source" / "mlp", root / "source" / "mlp", ignore=ignore)
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    return root


def _edit_first_cell(notebook: Path, cell_type: str, text: str) -> None:
    nb = json.loads(notebook.read_text())
    cell = next(c for c in nb["cells"] if c["cell_type"] == cell_type)
    cell["source"] = "".join(cell["source"]) + text
    notebook.write_text(json.dumps(nb, indent=1))


def test_the_hash_covers_the_installed_toolkit(course, tmp_path, monkeypatch):
    before = content_hash(course)
    toolkit = tmp_path / "toolkit" / "mlplab"
    shutil.copytree(coursedir.TOOLKIT, toolkit, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(coursedir, "TOOLKIT", toolkit)
    assert content_hash(course) == before  # the same toolkit elsewhere: the same hash
    with (toolkit / "sandbox" / "values.py").open("a") as f:
        f.write("\n# upgraded\n")
    assert content_hash(course) != before


def test_the_hash_covers_graders_labutils_and_notebook_code_not_prose(course):
    start = content_hash(course)
    notebook = course / "source" / "mlp" / "01_layers.ipynb"
    _edit_first_cell(notebook, "markdown", "\nA clearer sentence.\n")
    assert content_hash(course) == start, "prose does not change a grade"
    _edit_first_cell(notebook, "code", "\n# a changed line of code\n")
    after_code = content_hash(course)
    assert after_code != start
    with (course / "source" / "mlp" / "labutils" / "__init__.py").open("a") as f:
        f.write("\n# changed helper\n")
    after_labutils = content_hash(course)
    assert after_labutils != after_code
    with (course / "grader_tests" / "conftest.py").open("a") as f:
        f.write("\n# changed grader\n")
    assert content_hash(course) != after_labutils


def test_the_hash_does_not_depend_on_where_the_course_lives(course, tmp_path):
    moved = tmp_path / "elsewhere" / "course"
    shutil.copytree(course, moved)
    assert content_hash(moved) == content_hash(course)


def test_the_cache_key_covers_the_settings_a_grade_depends_on(course):
    from mlplab import config

    def key(environ: dict[str, str]) -> str:
        return content_hash(course, extra=config.load(course, environ=environ).grade_inputs())

    default = key({})
    assert key({"MLPLAB_SANDBOX_SLOT": "3"}) == default, "where a job runs does not change its grade"
    changed = {key({"MLPLAB_CHALLENGE_THRESHOLD": "0.4"}), key({"MLPLAB_CHALLENGE_SPLIT": "test_batch:0-4999"}),
               key({"MLPLAB_GRADER_SEED": "7"})}
    assert default not in changed and len(changed) == 3
