"""Course policy of the grading service: attempts per window, deadline, the attempt that counts, visibility.

Every rule here is a small pure function of plain values (UTC datetimes, numbers, result dicts), so the
policy is tested without a hub, a database or a sandbox. The numbers come from the course config
(``nbgrader_config.py``)::

    c.GradingService.attempts_per_window = 3      # graded attempts per student and assignment ...
    c.GradingService.window_hours = 24            # ... in any window of this many hours
    c.GradingService.counts = "last_on_time"      # or "best": the attempt written to the gradebook
    c.GradingService.before_deadline = "messages" # or "score": what a student sees per task before the deadline
    c.GradingService.after_deadline = "messages"  # ... and after it
    c.GradingService.instructor_group = "instructors"  # hub group that sees every student
    c.GradingService.workers = 2                  # submissions graded at once

The deadline is nbgrader's due date of the assignment plus the student's extension (both from nbgrader's
gradebook, where ``nbgrader db assignment add --duedate`` and extensions put them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

COUNT_RULES = ("last_on_time", "best")
VISIBILITY = ("score", "messages")


class PolicyError(ValueError):
    """A course-config value the service cannot use (the message names the setting and the choices)."""


@dataclass(frozen=True)
class Policy:
    """The service's course policy (documented defaults)."""

    attempts_per_window: int = 3
    window_hours: float = 24.0
    counts: str = "last_on_time"
    before_deadline: str = "messages"
    after_deadline: str = "messages"
    instructor_group: str = "instructors"
    workers: int = 2

    def __post_init__(self) -> None:
        if self.attempts_per_window < 1:
            raise PolicyError("GradingService.attempts_per_window must be at least 1")
        if self.window_hours <= 0:
            raise PolicyError("GradingService.window_hours must be positive")
        if self.counts not in COUNT_RULES:
            raise PolicyError(f"GradingService.counts must be one of {COUNT_RULES}, not {self.counts!r}")
        for name in ("before_deadline", "after_deadline"):
            if getattr(self, name) not in VISIBILITY:
                raise PolicyError(f"GradingService.{name} must be one of {VISIBILITY}, not {getattr(self, name)!r}")
        if self.workers < 1:
            raise PolicyError("GradingService.workers must be at least 1")

    @property
    def window(self) -> timedelta:
        return timedelta(hours=self.window_hours)

    @classmethod
    def from_config(cls, config: Any) -> Policy:
        """The policy of a course config (its ``GradingService`` section, read by
        :class:`mlplab.config.GradingService`: missing keys keep defaults, a misspelt key is a warning)."""
        from mlplab.config import GradingService, settings_section

        section = config.get("GradingService", {}) if hasattr(config, "get") else {}
        try:
            options = settings_section(GradingService, section)
        except ValueError as exc:
            raise PolicyError(str(exc)) from None
        return cls(**{f.name: getattr(options, f.name) for f in fields(cls)})


def deadline(due: datetime | None, extension: timedelta | None) -> datetime | None:
    """nbgrader's due date plus the student's extension (None: no deadline)."""
    if due is None:
        return None
    return due + (extension or timedelta(0))


def window_state(counted: Sequence[datetime], now: datetime, policy: Policy) -> tuple[int, datetime | None]:
    """``(attempts_left, next_allowed_at)`` at ``now`` given the submission times of the counted attempts.

    An attempt counts against the limit for ``policy.window`` after it was submitted. ``next_allowed_at``
    is None while attempts are left, else the moment the oldest attempt in the window leaves it.
    """
    start = now - policy.window
    inside = sorted(t for t in counted if start < t <= now)
    left = max(0, policy.attempts_per_window - len(inside))
    if left:
        return left, None
    # the attempt that must leave the window before one more is allowed
    blocking = inside[len(inside) - policy.attempts_per_window]
    return 0, blocking + policy.window


@dataclass(frozen=True)
class Graded:
    """What the policy needs of one graded attempt."""

    id: int
    submitted_at: datetime
    score: float


def official_attempt(graded: Sequence[Graded], due: datetime | None, rule: str) -> Graded | None:
    """The attempt that counts for the official grade.

    ``last_on_time``: the latest attempt submitted by the deadline; ``best``: the highest score among them
    (the later one on a tie). Without any attempt on time, the latest late attempt counts (the
    gradebook's late penalty then applies); without a deadline every attempt is on time.
    """
    if not graded:
        return None
    on_time = [g for g in graded if due is None or g.submitted_at <= due]
    if not on_time:
        return max(graded, key=lambda g: (g.submitted_at, g.id))
    if rule == "best":
        return max(on_time, key=lambda g: (g.score, g.submitted_at, g.id))
    return max(on_time, key=lambda g: (g.submitted_at, g.id))


def visible_tasks(tasks: dict[str, dict], show: str) -> dict[str, dict]:
    """The per-task part of a result a student may see: ``{id: {score, max_score, messages}}``.

    ``show == "score"`` drops the teaching messages. Messages are the trusted runner's, which never
    contain hidden test content.
    """
    return {
        task_id: {
            "score": float(info.get("score", 0.0)),
            "max_score": float(info.get("max_score", 0.0)),
            "messages": list(info.get("messages", [])) if show == "messages" else [],
        }
        for task_id, info in tasks.items()
    }


def visibility(now: datetime, due: datetime | None, policy: Policy) -> str:
    """What a student sees at ``now``: the before- or after-deadline setting."""
    if due is not None and now > due:
        return policy.after_deadline
    return policy.before_deadline
