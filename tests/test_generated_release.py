"""release/ and solutions/ are exactly what nbgrader generates from source/, and leak nothing."""

import json
import re

import pytest

from mlplab.course.generate import generate, nbgrader, scratch_course

from .helpers.optional import QUICK_THRESHOLD
from .helpers.paths import RELEASE, ROOT, SOLUTIONS, SOURCE, source_notebooks


def _tree(folder):
    return {
        p.relative_to(folder).as_posix(): p
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts
    }


def _content(path):
    if path.suffix == ".ipynb":
        return json.loads(path.read_text())
    return path.read_bytes()


@pytest.fixture(scope="session")
def regenerated(tmp_path_factory):
    course = scratch_course(tmp_path_factory.mktemp("course"))
    generate(course, db_url=f"sqlite:///{course / 'gradebook.db'}")
    return course


@pytest.mark.slow
@pytest.mark.parametrize("folder", ["release", "solutions"])
def test_committed_folder_is_exactly_what_nbgrader_generates(regenerated, folder):
    committed = _tree(ROOT / folder / "mlp")
    fresh = _tree(regenerated / folder / "mlp")
    assert sorted(committed) == sorted(fresh), "file lists differ: run `make generate`"
    for name, path in fresh.items():
        assert _content(committed[name]) == _content(path), f"{folder}/mlp/{name} is stale: run `make generate`"


def _cells_by_id(notebook):
    cells = json.loads(notebook.read_text())["cells"]
    return {
        c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
        for c in cells
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    }


SOLUTION_BLOCK = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", flags=re.S)


@pytest.mark.parametrize("notebook", [p.name for p in source_notebooks()])
def test_release_holds_no_solution_code_and_no_hidden_tests(notebook):
    text = (RELEASE / notebook).read_text()
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    assert "grade_task" not in text
    released = _cells_by_id(RELEASE / notebook)
    for grade_id, source in _cells_by_id(SOURCE / notebook).items():
        outside = {line.strip() for line in SOLUTION_BLOCK.sub("", source).splitlines()}
        hidden = {
            line.strip()
            for block in SOLUTION_BLOCK.findall(source)
            for line in block.splitlines()
            if line.strip() and line.strip() not in outside
        }
        leaked = hidden & {line.strip() for line in released.get(grade_id, "").splitlines()}
        assert not leaked, f"{grade_id}: solution lines in the release: {sorted(leaked)[:3]}"


def test_solutions_hold_no_hidden_tests():
    for notebook in SOLUTIONS.glob("*.ipynb"):
        text = notebook.read_text()
        assert "HIDDEN TESTS" not in text and "grade_task" not in text, notebook.name


@pytest.mark.slow
def test_nbgrader_validate_passes_on_source_and_inverted_on_release(tmp_path, monkeypatch):
    course = scratch_course(tmp_path / "course")
    # validating 04 runs its challenge cell in quick mode, which saves fc_net_challenge.npz next to the notebook
    # (a 500-image model: graded against a threshold it can meet) and grades it; that file is removed again
    monkeypatch.setenv("MLPLAB_CHALLENGE_THRESHOLD", QUICK_THRESHOLD)
    written = [folder / "fc_net_challenge.npz" for folder in (SOURCE, RELEASE)]
    existed = {path: path.exists() for path in written}
    try:
        for nb in source_notebooks():
            out = nbgrader(course, "validate", str(nb))
            assert "Success" in out.stdout, out.stdout[-2000:]
            out = nbgrader(course, "validate", "--invert", str(RELEASE / nb.name))
            assert "Success" in out.stdout, out.stdout[-2000:]
    finally:
        for path in written:
            if not existed[path]:
                path.unlink(missing_ok=True)
