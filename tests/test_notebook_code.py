"""Reading untrusted notebooks: clear errors for malformed files, only definitions from non-solution cells."""

import json

import numpy as np
import pytest

from mlplab.notebooks import NotebookError, definitions_only, definitions_rule, grading_code, read_cells

from .helpers.paths import ROOT, source_notebooks

LABUTILS = ROOT / "source" / "mlp" / "labutils"


def _write(tmp_path, payload: bytes):
    path = tmp_path / "01_layers.ipynb"
    path.write_bytes(payload)
    return path


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        (b'{"cells": [', "invalid notebook JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b'["not", "a", "notebook"]', "not a Jupyter notebook"),
    ],
)
def test_malformed_notebooks_get_clear_errors(tmp_path, payload, needle):
    path = _write(tmp_path, payload)
    before = path.read_bytes()
    with pytest.raises(NotebookError, match=needle):
        read_cells(path)
    assert path.read_bytes() == before


def test_missing_notebook_is_reported(tmp_path):
    with pytest.raises(NotebookError, match="not found"):
        read_cells(tmp_path / "02_normalization.ipynb")


def test_definitions_only_drops_experiments_and_keeps_defs():
    src = "import numpy as np\nx = train()\ndef f(a):\n    return a\nclass C: pass\nplot(x)\n%timeit f(1)"
    kept = definitions_only(src, None, LABUTILS)
    assert "def f" in kept and "class C" in kept and "import numpy" in kept
    assert "train()" not in kept and "plot" not in kept


def test_definitions_only_keeps_constants_and_skips_heavy_work():
    src = (
        "AXIS_BATCH = 0\nSIZES = (512, 256)\nDTYPE = np.float32\nlr = 1e-3\nlr *= 2\n"
        "solver = Solver(model)\nsolver.train()\ncfg = dict(axis=AXIS_BATCH)\nfirst = SIZES[0]\n"
        "y = undefined_name\nfor i in range(3):\n    pass\n"
    )
    kept = definitions_only(src, {"np"}, LABUTILS)
    namespace: dict = {"np": np}
    exec(kept, namespace)
    assert namespace["AXIS_BATCH"] == 0 and namespace["SIZES"] == (512, 256) and namespace["DTYPE"] is np.float32
    assert namespace["lr"] == 2e-3 and namespace["cfg"] == {"axis": 0}
    for skipped in ("solver", "first", "y", "i"):
        assert skipped not in namespace, skipped


def test_constant_that_cannot_be_computed_is_skipped_not_a_load_error():
    namespace: dict = {}
    exec(definitions_only("RATIO = 1 / 0\nOK = 1\n", None, LABUTILS), namespace)
    assert "RATIO" not in namespace and namespace["OK"] == 1


def test_grading_code_skips_hidden_test_cells(tmp_path):
    cells = [
        {
            "cell_type": "code",
            "source": "def f():\n    return 1",
            "metadata": {"nbgrader": {"solution": True, "grade_id": "f_solution"}},
        },
        {
            "cell_type": "code",
            "source": "secret()",
            "metadata": {"nbgrader": {"grade": True, "solution": False, "grade_id": "f", "points": 1}},
        },
        {"cell_type": "code", "source": "def helper():\n    pass\nrun()", "metadata": {}},
    ]
    path = _write(tmp_path, json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {}}).encode())
    units = grading_code(read_cells(path), LABUTILS)
    joined = "\n".join(u.source for u in units)
    assert "def f" in joined and "def helper" in joined
    assert "secret" not in joined and "run()" not in joined


def test_graders_and_students_load_earlier_notebooks_by_the_one_rule_of_the_course():
    """What a later notebook imports from an earlier one (labutils.nbimport) is what the graders load: the graders
    run the course's own nbimport.py, so the two agree on every source notebook."""
    nbimport = definitions_rule(LABUTILS)
    assert nbimport.__file__ == str((LABUTILS / "nbimport.py").resolve())
    for nb in source_notebooks():
        graders = [u.source for u in grading_code(read_cells(nb), LABUTILS)]
        students = [code for _label, code in nbimport.notebook_code(nb)]
        assert graders == students, nb.name


def test_a_cell_that_does_not_parse_contributes_nothing_instead_of_failing_the_load():
    assert definitions_only("def f(:\n    pass\n", None, LABUTILS) == ""


def test_changing_the_courses_rule_changes_what_the_graders_load(tmp_path):
    """One rule: a course whose nbimport.py also skips classes gets graded by that rule (no copy in the toolkit)."""
    import shutil

    labutils = tmp_path / "labutils"
    shutil.copytree(LABUTILS, labutils, ignore=shutil.ignore_patterns("__pycache__"))
    rule = labutils / "nbimport.py"
    text = rule.read_text()
    kinds = "_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)"
    assert kinds in text
    rule.write_text(text.replace(kinds, kinds.replace(", ast.ClassDef", "")))
    source = "class Helper:\n    pass\ndef f():\n    return 1\n"
    assert "class Helper" in definitions_only(source, None, LABUTILS)
    kept = definitions_only(source, None, labutils)
    assert "class Helper" not in kept and "def f" in kept
