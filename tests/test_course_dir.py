"""A course of its own: `mlplab quickstart`, commands that work on the course of the working directory,
and one clear sentence (exit 2, no traceback) outside a course or in a course without graders."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from mlplab.coursedir import CourseError, course_root, find_course, manual_tasks, tasks

from .helpers.cli import one_sentence, run_in
from .helpers.paths import ROOT
from .helpers.submissions import build

BIN = Path(sys.executable).parent


def nbgrader_in(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """`nbgrader ARGS` from ``cwd`` with the virtual environment's bin first on PATH (as after `activate`)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MLPLAB_COURSE_ROOT", "MLPLAB_DB_URL")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc


def checkout_state() -> dict[str, str]:
    """What a course run could leave in the checkout: generated folders' contents, gradebook, exchange."""
    state = {}
    for folder in ("release", "solutions", "autograded", "submitted", "feedback", "exchange"):
        for path in sorted((ROOT / folder).rglob("*")) if (ROOT / folder).exists() else []:
            if path.is_file() and "__pycache__" not in path.parts:
                state[str(path.relative_to(ROOT))] = hashlib.sha256(path.read_bytes()).hexdigest()
    for name in ("gradebook.db", "grades.csv"):
        state[name] = "present" if (ROOT / name).exists() else "absent"
    return state


@pytest.fixture(scope="module")
def quick_course(tmp_path_factory):
    """A quickstart course outside the checkout, taken through a term from its own directory."""
    before = checkout_state()
    base = tmp_path_factory.mktemp("qs")
    proc = run_in(base, "quickstart", "course", "--course-id", "qs-rehearsal")
    assert proc.returncode == 0, proc.stderr
    course = base / "course"
    made = {p.name for p in course.iterdir()}
    # generate from a subfolder: the course is found by walking up, like git
    proc = run_in(course / "source" / "mlp", "generate")
    assert proc.returncode == 0, proc.stderr[-3000:]
    progress = proc.stderr
    nbgrader_in(course, "release_assignment", "mlp")
    student = base / "home-ada"
    student.mkdir()
    exchange = f"--Exchange.root={course / 'exchange'}"
    cache = f"--Exchange.cache={base / 'student-cache'}"
    nbgrader_in(student, "fetch_assignment", "mlp", "--course=qs-rehearsal", exchange, cache)
    build(student / "mlp", stems=("01_layers",))
    nbgrader_in(student, "submit", "mlp", "--course=qs-rehearsal", exchange, cache, "--CourseDirectory.student_id=ada")
    nbgrader_in(course, "collect", "mlp", "--CollectApp.check_owner=False")
    graded = run_in(course, "autograde", "mlp", "--jobs", "1")
    assert graded.returncode == 0, graded.stderr[-3000:]
    nbgrader_in(course, "export", "--to=grades.csv")
    return {"course": course, "made": made, "before": before, "progress": progress, "graded": graded}


@pytest.mark.slow
@pytest.mark.needs_root
def test_quickstart_makes_a_complete_course_directory(quick_course):
    wanted = {"nbgrader_config.py", "source", "grader_tests", "i18n", "release", "solutions", "autograded", "README.md"}
    assert wanted <= quick_course["made"]
    config = (quick_course["course"] / "nbgrader_config.py").read_text()
    assert "qs-rehearsal" in config and "Exchange.root" in config and "db_url" in config
    assert (quick_course["course"] / "grader_tests" / "conftest.py").is_file()


@pytest.mark.slow
@pytest.mark.needs_root
def test_quickstart_course_run_from_its_own_directory_keeps_every_artefact_inside_it(quick_course):
    course = quick_course["course"]
    assert (course / "release" / "mlp" / "01_layers.ipynb").is_file()
    assert (course / "solutions" / "mlp" / "01_layers.ipynb").is_file()
    assert (course / "gradebook.db").is_file()
    assert (course / "exchange" / "qs-rehearsal" / "outbound" / "mlp").is_dir()
    assert (course / "submitted" / "ada" / "mlp" / "01_layers.ipynb").is_file()
    assert (course / "autograded" / "ada" / "mlp" / "01_layers.ipynb").is_file()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "qs-rehearsal") as gb:
        assert gb.find_submission("mlp", "ada").code_score == pytest.approx(11.0)  # 01_layers, all correct
    rows = list(csv.DictReader((course / "grades.csv").open()))
    assert [r["student_id"] for r in rows] == ["ada"] and float(rows[0]["raw_score"]) == pytest.approx(11.0)
    assert checkout_state() == quick_course["before"], "a course run outside the checkout changed the checkout"


@pytest.mark.slow
@pytest.mark.needs_root
def test_generate_shows_a_line_per_step(quick_course):
    assert "[1/2]" in quick_course["progress"] and "[2/2] done in" in quick_course["progress"]


@pytest.mark.slow
@pytest.mark.needs_root
def test_autograde_summary_counts_manual_points_and_marks_them_pending(quick_course):
    out = quick_course["graded"].stdout
    row = next(line for line in out.splitlines() if line.startswith("ada"))
    score, maximum = (float(x) for x in row.split()[1:3])
    full = sum(t.points for t in tasks(ROOT).values()) + sum(t.points for t in manual_tasks(ROOT).values())
    assert score == pytest.approx(11.0) and maximum == pytest.approx(full)  # autograded + manual points
    assert "1 graded now" in out


@pytest.mark.needs_root
def test_a_changed_toolkit_regrades_a_quickstart_course_instead_of_reusing_cached_grades(quick_course, tmp_path,
                                                                                       monkeypatch):
    """The toolkit is installed, not in the course: the cache key must still cover it (it once hashed
    ``course/mlplab``, which a quickstart course lacks, so an upgrade kept stale grades)."""
    from mlplab import coursedir
    from mlplab.autograde import autograde

    course = quick_course["course"]
    # unchanged: the cache is reused
    before = autograde(course, jobs=1, progress=False)
    assert before.graded == [] and before.cached == ["ada"], (before.graded, before.cached)
    toolkit = tmp_path / "mlplab"
    shutil.copytree(coursedir.TOOLKIT, toolkit, ignore=shutil.ignore_patterns("__pycache__"))
    with (toolkit / "grading" / "runner.py").open("a") as f:
        f.write("\n# an upgraded toolkit\n")
    monkeypatch.setattr(coursedir, "TOOLKIT", toolkit)
    results = autograde(course, jobs=1, progress=False)
    assert results.graded == ["ada"] and results.cached == [], (results.graded, results.cached)
    assert results["ada"]["score"] == pytest.approx(before["ada"]["score"])  # regraded: the same submission


@pytest.mark.needs_root
def test_course_option_and_environment_override_the_working_directory(tmp_path, monkeypatch):
    other = tmp_path / "other"
    other.mkdir()
    (other / "nbgrader_config.py").write_text("c = get_config()\n")
    monkeypatch.chdir(other)
    monkeypatch.delenv("MLPLAB_COURSE_ROOT", raising=False)
    assert course_root() == other.resolve()
    assert find_course(other / "a" / "b") == other.resolve()  # walks up from a subfolder
    monkeypatch.setenv("MLPLAB_COURSE_ROOT", str(ROOT))
    assert course_root() == ROOT
    # --course wins over both: the graders of the checkout grade a notebook from a non-course directory
    monkeypatch.chdir(tmp_path)
    proc = run_in(tmp_path, "--course", str(ROOT), "grade", str(ROOT / "source" / "mlp" / "01_layers.ipynb"), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '"score": 11.0' in proc.stdout


@pytest.mark.parametrize(
    "args", [("generate",), ("autograde", "mlp"), ("extend", "mlp", "ada", "--days", "1")]
)
def test_a_directory_outside_any_course_gets_one_sentence(tmp_path, args):
    line = one_sentence(run_in(tmp_path, *args))
    assert "not inside a course" in line and "quickstart" in line


@pytest.mark.needs_root
def test_grade_outside_any_course_uses_the_course_kit_and_writes_nothing_here(tmp_path):
    # grading writes nothing to a course, so `mlplab grade` (the contract's command) still grades a notebook
    # from an unrelated directory, with the kit the toolkit came from, and says so on stderr
    notebook = tmp_path / "01_layers.ipynb"
    shutil.copy2(ROOT / "source" / "mlp" / "01_layers.ipynb", notebook)
    proc = run_in(tmp_path, "grade", str(notebook), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["score"] == 11.0
    assert "not inside a course" in proc.stderr and str(ROOT) in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["01_layers.ipynb"]


def test_course_option_naming_a_non_course_gets_one_sentence(tmp_path):
    line = one_sentence(run_in(tmp_path, "--course", str(tmp_path / "nowhere"), "generate"))
    assert "is not a course" in line


def test_a_course_without_graders_gets_one_sentence(tmp_path):
    shutil.copy2(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "source", tmp_path / "source")
    line = one_sentence(run_in(tmp_path, "grade", str(tmp_path / "source" / "mlp" / "01_layers.ipynb")))
    assert "has no grader_tests/" in line


def test_graders_are_imported_from_the_resolved_course(tmp_path):
    from mlplab.grading.runner import reference_parts

    (tmp_path / "grader_tests").mkdir()
    (tmp_path / "grader_tests" / "__init__.py").write_text("")
    (tmp_path / "grader_tests" / "conftest.py").write_text("REFERENCE_PARTS = {'only_here': ('marker',)}\n")
    assert reference_parts(tmp_path) == {"only_here": ("marker",)}
    assert "only_here" not in reference_parts(ROOT) and reference_parts(ROOT)  # and back to the checkout's


def test_quickstart_refuses_to_overwrite_a_course(tmp_path):
    from mlplab.course.quickstart import quickstart

    quickstart(tmp_path / "c")
    with pytest.raises(CourseError, match="already a course"):
        quickstart(tmp_path / "c")


@pytest.mark.slow
def test_mlplab_runs_nbgrader_on_a_fresh_gradebook_without_the_venv_on_path(tmp_path, monkeypatch):
    from mlplab.course.generate import nbgrader

    bare = "/usr/bin:/bin"
    assert shutil.which("alembic", path=bare) is None  # as for an instructor who did not activate the venv
    monkeypatch.setenv("PATH", bare)
    shutil.copy2(ROOT / "nbgrader_config.py", tmp_path)
    nbgrader(tmp_path, "db", "student", "add", "ada", "--last-name=Lovelace")  # nbgrader runs `alembic` here
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}", "mlp-lab") as gb:
        assert gb.find_student("ada").last_name == "Lovelace"


def test_readme_activates_the_venv_before_calling_nbgrader():
    text = (ROOT / "README.md").read_text()
    quick = text[text.index("## Instructor quick start") : text.index("## Student quick start")]
    assert "source .venv/bin/activate" in quick
    assert quick.index("source .venv/bin/activate") < quick.index("nbgrader ")
    assert ".venv/bin/nbgrader" not in text


def test_the_checkouts_exchange_is_a_writable_folder_inside_the_course(monkeypatch):
    from mlplab.course.gradebook import course_config

    monkeypatch.delenv("MLPLAB_EXCHANGE", raising=False)
    root = Path(course_config(ROOT).Exchange.root)
    assert root == ROOT / "exchange"  # not nbgrader's /usr/local/share/nbgrader/exchange
    assert os.access(root if root.exists() else root.parent, os.W_OK)
    monkeypatch.setenv("MLPLAB_EXCHANGE", "/srv/nbgrader/exchange")
    assert course_config(ROOT).Exchange.root == "/srv/nbgrader/exchange"
