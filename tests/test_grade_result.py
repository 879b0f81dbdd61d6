"""The typed result of grading (``mlplab.grading.result``) is the ``mlplab grade --json`` contract exactly."""

from __future__ import annotations

import json

from mlplab.coursedir import Task
from mlplab.grading.result import GradeResult, TaskResult

CONTRACT = {
    "score": 3.5,
    "max_score": 5.0,
    "tasks": {
        "affine_forward": {"score": 2.0, "max_score": 2.0, "passed": 4, "failed": 0, "messages": []},
        "relu_forward": {
            "score": 1.5, "max_score": 3.0, "passed": 1, "failed": 1,
            "messages": ["relu_forward: modified its input x: build a new array instead"],
        },
    },
    "errors": ["02_normalization.ipynb is missing from the submission"],
}


def test_a_result_reads_and_writes_the_contract_object_exactly():
    result = GradeResult.from_json(CONTRACT)
    assert result.to_json() == CONTRACT
    assert list(result.to_json()) == ["score", "max_score", "tasks", "errors"]
    assert list(result.to_json()["tasks"]["relu_forward"]) == ["score", "max_score", "passed", "failed", "messages"]
    assert json.loads(json.dumps(result.to_json())) == CONTRACT


def test_keys_a_job_runner_adds_are_not_part_of_the_result():
    record = {**CONTRACT, "student": "ada", "seconds": 12.5}
    assert GradeResult.from_json(record).to_json() == CONTRACT


def test_totals_follow_the_tasks():
    result = GradeResult.from_json(CONTRACT)
    assert (result.score, result.max_score, result.checks_run) == (3.5, 5.0, 6)
    assert not result.tasks["affine_forward"].lost_points and result.tasks["relu_forward"].lost_points
    assert TaskResult(2.0, 2.0, passed=0, failed=0).lost_points is False
    assert TaskResult(1.0, 2.0).lost_points  # points missing without a failed check (a timeout)


def test_a_submission_that_could_not_be_graded_scores_zero_of_everything_with_its_reason():
    table = [Task("affine_forward", "01_layers", 2.0), Task("relu_forward", "01_layers", 3.0)]
    result = GradeResult.unable(table, "grading took longer than 900 s and was stopped")
    assert result.to_json() == {
        "score": 0.0,
        "max_score": 5.0,
        "tasks": {
            "affine_forward": {"score": 0.0, "max_score": 2.0, "passed": 0, "failed": 0, "messages": []},
            "relu_forward": {"score": 0.0, "max_score": 3.0, "passed": 0, "failed": 0, "messages": []},
        },
        "errors": ["grading took longer than 900 s and was stopped"],
    }
    assert result.could_not_grade and not GradeResult.from_json(CONTRACT).could_not_grade
    assert GradeResult(errors=("boom",)).could_not_grade
