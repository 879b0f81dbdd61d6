"""The result of grading one submission: the ``mlplab grade --json`` contract as types.

``GradeResult.to_json()`` is exactly the object DESIGN.md specifies::

    {"score": float, "max_score": float,
     "tasks": {TASK_ID: {"score": float, "max_score": float, "passed": int, "failed": int, "messages": [str]}},
     "errors": [str]}

and ``from_json`` reads it back (extra keys that job runners add, such as ``student`` or ``seconds``, are ignored).
The runner builds it, autograde's jobs and the grading service pass it on, the grader validity reads its tasks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlplab.coursedir import Task


@dataclass(frozen=True)
class TaskResult:
    """One task of a graded submission: points earned of ``max_score`` and the checks behind them."""

    score: float
    max_score: float
    passed: int = 0
    failed: int = 0
    messages: tuple[str, ...] = ()

    @property
    def lost_points(self) -> bool:
        """A check failed or points are missing (what the grader validity calls a bug caught)."""
        return self.failed > 0 or self.score < self.max_score

    def to_json(self) -> dict[str, Any]:
        return {
            "score": float(self.score),
            "max_score": float(self.max_score),
            "passed": int(self.passed),
            "failed": int(self.failed),
            "messages": list(self.messages),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TaskResult:
        return cls(
            score=float(data.get("score", 0.0)),
            max_score=float(data.get("max_score", 0.0)),
            passed=int(data.get("passed", 0)),
            failed=int(data.get("failed", 0)),
            messages=tuple(str(m) for m in data.get("messages", ())),
        )


@dataclass(frozen=True)
class GradeResult:
    """A graded submission: its tasks in the task table's order and the submission-level errors."""

    tasks: dict[str, TaskResult] = field(default_factory=dict)
    errors: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tasks.values()), 4)

    @property
    def max_score(self) -> float:
        return float(sum(t.max_score for t in self.tasks.values()))

    @property
    def checks_run(self) -> int:
        return sum(t.passed + t.failed for t in self.tasks.values())

    @property
    def could_not_grade(self) -> bool:
        """Errors and not a single check ran: the job failed (the service marks such an attempt failed)."""
        return bool(self.errors) and self.checks_run == 0

    @classmethod
    def unable(cls, table: Iterable[Task], message: str) -> GradeResult:
        """Every task at zero with nothing checked, and why grading could not run."""
        return cls({t.id: TaskResult(0.0, float(t.points)) for t in table}, (message,))

    def with_error(self, message: str) -> GradeResult:
        return GradeResult(self.tasks, (*self.errors, message))

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "max_score": self.max_score,
            "tasks": {task_id: task.to_json() for task_id, task in self.tasks.items()},
            "errors": list(self.errors),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GradeResult:
        tasks = data.get("tasks") or {}
        return cls({str(k): TaskResult.from_json(v) for k, v in tasks.items()}, tuple(map(str, data.get("errors", ()))))
