"""The time caps of the threat model: per call, per task, per submission, per job; and the page's figures."""

from __future__ import annotations

import re
import textwrap

import pytest

from mlplab import autograde
from mlplab.config import Autograde
from mlplab.sandbox.host.launch import Limits

from .helpers.cli import grade_json
from .helpers.paths import ROOT
from .helpers.submissions import build, scores

# a correct affine_forward that takes 0.6 s per call
SLOW_FORWARD = textwrap.dedent(
    """
    import time
    def affine_forward(x, w, b):
        time.sleep(0.6)
        return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)
    """
)


@pytest.mark.needs_root
def test_a_slow_task_is_cut_at_its_task_cap_and_the_other_tasks_keep_full_marks(tmp_path, monkeypatch):
    monkeypatch.setenv("MLPLAB_TASK_TIMEOUT_S", "2")
    result = grade_json(build(tmp_path / "sub", replace={"affine_forward_solution": SLOW_FORWARD}))
    forward = result["tasks"]["affine_forward"]
    assert forward["failed"] > 0 and any("used its 2 s time cap" in m for m in forward["messages"]), forward
    assert scores(result)["relu_forward"] == 1.0 and scores(result)["softmax_loss"] == 3.0


@pytest.mark.needs_root
def test_a_slow_submission_is_cut_at_its_submission_cap(tmp_path, monkeypatch):
    monkeypatch.setenv("MLPLAB_SUBMISSION_TIMEOUT_S", "2")
    result = grade_json(build(tmp_path / "sub", replace={"affine_forward_solution": SLOW_FORWARD}))
    messages = [m for info in result["tasks"].values() for m in info["messages"]]
    assert any("the submission used its 2 s time cap" in m for m in messages), messages
    assert result["score"] < result["max_score"]


@pytest.mark.needs_root
def test_a_job_that_outlives_its_cap_is_stopped_and_reported(tmp_path):
    submission = build(tmp_path / "mlp", replace={"affine_forward_solution": SLOW_FORWARD})
    result = autograde.grade_job(autograde.Job("slow", str(submission), timeout_s=1))
    assert result["errors"] == ["grading took longer than 1 s and was stopped"]
    assert result["score"] == 0.0


def test_the_threat_models_time_caps_are_the_limits_in_force():
    page = (ROOT / "docs" / "threat-model.md").read_text()
    row = next(line for line in page.splitlines() if line.startswith("| time caps"))
    limits = Limits()
    expected = {
        "per call": limits.call_timeout_s,
        "per cell while loading": limits.load_timeout_s,
        "all loading": limits.load_budget_s,
        "per task": limits.task_timeout_s,
        "per submission": limits.submission_timeout_s,
        "per job": Autograde().job_timeout_s,
    }
    for what, seconds in expected.items():
        found = re.search(rf"{what} \((\d+) s\)", row)
        assert found, f"the threat model's time caps do not name the cap {what!r}"
        assert float(found.group(1)) == pytest.approx(seconds), f"{what}: page {found.group(1)} s, code {seconds} s"
