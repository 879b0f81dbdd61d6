"""Malformed submissions: a clear message, whatever can be graded is graded, files are never modified."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from .helpers.cli import grade_json
from .helpers.submissions import build

pytestmark = [pytest.mark.needs_root]

LAYERS = ("affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss")
NORM = (
    "batchnorm_forward",
    "batchnorm_backward",
    "layernorm_forward",
    "layernorm_backward",
    "dropout_forward",
    "dropout_backward",
)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _edit_json(path: Path, change) -> None:
    nb = json.loads(path.read_text())
    change(nb)
    path.write_text(json.dumps(nb))


def _cell(nb: dict, grade_id: str) -> dict:
    return next(c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def _grade_unchanged(folder: Path) -> dict:
    before = _digest(folder)
    result = grade_json(folder)
    assert _digest(folder) == before, "grading modified the submitted files"
    return result


def _full(result: dict, names) -> bool:
    return all(result["tasks"][t]["score"] == result["tasks"][t]["max_score"] for t in names)


def _zero(result: dict, names) -> bool:
    return all(result["tasks"][t]["score"] == 0 for t in names)


@pytest.fixture
def submission(tmp_path) -> Path:
    return build(tmp_path / "mlp", stems=("01_layers", "02_normalization"))


def test_truncated_notebook_is_reported_and_the_rest_is_graded(submission):
    path = submission / "02_normalization.ipynb"
    path.write_bytes(path.read_bytes()[:5000])
    result = _grade_unchanged(submission)
    assert any("02_normalization.ipynb: invalid notebook JSON" in e for e in result["errors"])
    assert _full(result, LAYERS) and _zero(result, NORM)
    assert "02_normalization.ipynb" in result["tasks"]["batchnorm_forward"]["messages"][0]


def test_non_utf8_bytes_are_reported(submission):
    path = submission / "02_normalization.ipynb"
    path.write_bytes(b"\xff\xfe" + path.read_bytes())
    result = _grade_unchanged(submission)
    assert any("not UTF-8" in e for e in result["errors"])
    assert _full(result, LAYERS) and _zero(result, NORM)


def test_missing_notebook_is_reported(submission):
    (submission / "02_normalization.ipynb").unlink()
    result = _grade_unchanged(submission)
    assert "02_normalization.ipynb is missing from the submission" in result["errors"]
    assert _full(result, LAYERS) and _zero(result, NORM)


def test_tasks_of_a_missing_notebook_say_so_without_loading_its_graders(submission, tmp_path):
    """05's graders import PyTorch: a submission without 05 must not pay for that to hear that 05 is missing."""
    import subprocess
    import sys

    script = (
        "import json, sys\n"
        "from mlplab.grading.runner import grade_path\n"
        f"result = grade_path({str(submission)!r}).to_json()\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'tasks': result['tasks']}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not out["torch"], "grading notebooks 01-02 imported PyTorch"
    build_cnn = out["tasks"]["build_cnn"]
    assert build_cnn["score"] == 0
    assert build_cnn["messages"] == ["build_cnn: 05_mlp_vs_cnn.ipynb is missing from the submission"]
    assert _full(out, LAYERS + NORM)


def test_extra_notebooks_are_ignored_with_a_note(submission):
    (submission / "my_experiments.ipynb").write_text(
        json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    result = _grade_unchanged(submission)
    assert any("my_experiments.ipynb is not part of the assignment" in e for e in result["errors"])
    assert _full(result, LAYERS + NORM)


def test_renamed_notebook_is_matched_by_its_cells(submission):
    (submission / "01_layers.ipynb").rename(submission / "01_layers (1).ipynb")
    result = _grade_unchanged(submission)
    assert any("was graded as 01_layers.ipynb" in e for e in result["errors"])
    assert _full(result, LAYERS + NORM)


def test_deleted_duplicated_and_reordered_cells_still_grade(submission):
    def scramble(nb):
        cells = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != "relu_forward"]
        cells.append(json.loads(json.dumps(_cell(nb, "affine_forward_solution"))))
        nb["cells"] = list(reversed(cells))

    _edit_json(submission / "01_layers.ipynb", scramble)
    result = _grade_unchanged(submission)
    assert _full(result, LAYERS + NORM)


def test_changed_cell_type_loses_only_that_function(submission):
    def to_markdown(nb):
        cell = _cell(nb, "relu_forward_solution")
        cell["cell_type"] = "markdown"
        cell.pop("outputs", None)
        cell.pop("execution_count", None)

    _edit_json(submission / "01_layers.ipynb", to_markdown)
    result = _grade_unchanged(submission)
    assert _zero(result, ["relu_forward"])
    assert "relu_forward" in result["tasks"]["relu_forward"]["messages"][0]
    assert _full(result, ("affine_forward", "affine_backward", "softmax_loss") + NORM)


def test_stripped_metadata_still_grades_the_definitions(submission):
    def strip(nb):
        for cell in nb["cells"]:
            cell["metadata"] = {}

    _edit_json(submission / "01_layers.ipynb", strip)
    result = _grade_unchanged(submission)
    assert _full(result, LAYERS + NORM)


def test_renamed_function_gets_a_message_that_names_it(tmp_path):
    folder = build(tmp_path / "mlp", stems=("01_layers",))
    _edit_json(
        folder / "01_layers.ipynb",
        lambda nb: _cell(nb, "softmax_loss_solution").update(
            source="".join(_cell(nb, "softmax_loss_solution")["source"]).replace("def softmax_loss(", "def softmax(")
        ),
    )
    result = _grade_unchanged(folder)
    assert _zero(result, ["softmax_loss"])
    assert "keep the function and class names" in result["tasks"]["softmax_loss"]["messages"][0]
    assert _full(result, ("affine_forward", "affine_backward", "relu_forward", "relu_backward"))


def test_warnings_on_stderr_do_not_cost_points(tmp_path):
    noisy = "import sys, warnings\nwarnings.warn('deprecated', DeprecationWarning)\nprint('oops', file=sys.stderr)\n"
    folder = build(
        tmp_path / "mlp",
        stems=("01_layers",),
        prepend={
            "affine_forward_solution": noisy,
            "relu_forward_solution": "import warnings\nwarnings.simplefilter('always')\n",
        },
    )
    result = _grade_unchanged(folder)
    assert _full(result, LAYERS)


def test_kernel_death_costs_only_the_function_that_kills_it(tmp_path):
    killer = "import os, signal\ndef relu_backward(dout, cache):\n    os.kill(os.getpid(), signal.SIGKILL)\n"
    folder = build(tmp_path / "mlp", stems=("01_layers",), replace={"relu_backward_solution": killer})
    result = _grade_unchanged(folder)
    assert _zero(result, ["relu_backward"])
    assert "killed" in result["tasks"]["relu_backward"]["messages"][0]
    assert _full(result, ("affine_forward", "affine_backward", "relu_forward", "softmax_loss"))


def test_constant_in_an_added_cell_is_kept_and_a_skipped_name_is_explained(tmp_path):
    folder = build(tmp_path / "mlp", stems=("01_layers",))

    def change(nb: dict) -> None:
        backward = _cell(nb, "affine_backward_solution")
        backward["source"] = "".join(backward["source"]).replace(".sum(axis=0)", ".sum(axis=AXIS_BATCH)")
        assert "AXIS_BATCH" in backward["source"]
        relu = _cell(nb, "relu_backward_solution")
        relu["source"] = "".join(relu["source"]).replace("(x > 0)", "(x > THRESHOLD)")
        added = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                 "source": "AXIS_BATCH = 0\nTHRESHOLD = float(np.random.rand() * 0)\nprint(AXIS_BATCH)\n"}
        nb["cells"].insert(1, added)

    _edit_json(folder / "01_layers.ipynb", change)
    result = _grade_unchanged(folder)
    assert _full(result, ("affine_forward", "affine_backward", "relu_forward", "softmax_loss"))
    message = result["tasks"]["relu_backward"]["messages"][0]
    assert "THRESHOLD" in message and "constant assignments" in message
    assert "keep the function and class names" not in message
