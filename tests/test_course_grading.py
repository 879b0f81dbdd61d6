"""The reference gets full marks and the blank release gets zero, through `mlplab grade --json`."""

import shutil

import pytest

from mlplab.coursedir import tasks

from .helpers.cli import grade_json
from .helpers.optional import QUICK_THRESHOLD, submitted_file_tasks, write_reference_model
from .helpers.paths import RELEASE, SOURCE, data_dir, source_notebooks

pytestmark = [pytest.mark.needs_root]


@pytest.mark.needs_data
def test_reference_source_gets_full_marks_in_every_task(tmp_path, monkeypatch):
    """The source notebooks, with the model answer's challenge model (quick mode, so a low threshold)."""
    folder = tmp_path / "mlp"
    folder.mkdir()
    for notebook in source_notebooks():
        shutil.copy2(notebook, folder / notebook.name)
    monkeypatch.setenv("MLPLAB_DATA", str(data_dir()))
    write_reference_model(folder)
    monkeypatch.setenv("MLPLAB_CHALLENGE_THRESHOLD", QUICK_THRESHOLD)
    result = grade_json(folder)
    assert set(result["tasks"]) == set(tasks())
    for task_id, info in result["tasks"].items():
        assert info["failed"] == 0 and info["passed"] > 0, (task_id, info["messages"])
        assert info["score"] == info["max_score"], task_id
    assert result["score"] == result["max_score"] > 0
    assert result["errors"] == []


def test_blank_release_gets_zero_in_every_task_without_crashing():
    result = grade_json(RELEASE)
    assert set(result["tasks"]) == set(tasks())
    for task_id, info in result["tasks"].items():
        assert info["score"] == 0, task_id
        assert info["failed"] > 0 and info["messages"], task_id
    assert result["score"] == 0


@pytest.mark.parametrize("notebook", [p.name for p in source_notebooks()])
def test_single_notebook_grades_only_its_own_tasks(notebook):
    result = grade_json(SOURCE / notebook)
    stem = notebook.removesuffix(".ipynb")
    expected = {t for t, task in tasks().items() if task.notebook == stem}
    assert set(result["tasks"]) == expected
    # the optional fc_net_challenge grades a submitted npz, not the notebook: every other task earns full marks
    # (the nbgrader validate test runs source/ in place and may leave its quick npz there for a while)
    optional = submitted_file_tasks()
    for task_id, info in result["tasks"].items():
        if task_id not in optional:
            assert info["score"] == info["max_score"], (task_id, info)
    assert result["score"] == result["max_score"] - sum(
        info["max_score"] - info["score"] for task_id, info in result["tasks"].items() if task_id in optional)


def test_grade_of_a_missing_path_fails_with_a_clear_message(tmp_path):
    from .helpers.cli import run_mlplab

    proc = run_mlplab("grade", str(tmp_path / "nope.ipynb"), "--json")
    assert proc.returncode != 0
    assert "cannot grade" in proc.stderr and proc.stdout == ""
