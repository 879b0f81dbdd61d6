"""The grading service's policy and persistent queue, without a hub: pure rules and a real SQLite table."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from mlplab.service.policy import (
    Graded,
    Policy,
    PolicyError,
    deadline,
    official_attempt,
    visibility,
    visible_tasks,
    window_state,
)
from mlplab.service.queue import AttemptQueue, InvalidTransition

T0 = datetime(2026, 3, 1, 12, 0, 0)
H = timedelta(hours=1)


def test_three_attempts_per_day_then_the_next_allowed_time_is_when_the_oldest_leaves_the_window():
    policy = Policy()
    times = [T0, T0 + 2 * H, T0 + 5 * H]
    assert window_state(times[:2], T0 + 3 * H, policy) == (1, None)
    assert window_state(times, T0 + 6 * H, policy) == (0, T0 + 24 * H)
    assert window_state(times, T0 + 24 * H + timedelta(seconds=1), policy) == (1, None)


def test_deadline_is_due_date_plus_extension():
    assert deadline(T0, timedelta(days=2)) == T0 + timedelta(days=2)
    assert deadline(T0, None) == T0
    assert deadline(None, timedelta(days=2)) is None


def test_last_on_time_counts_by_default_and_best_takes_the_highest_on_time_score():
    graded = [Graded(1, T0, 9.0), Graded(2, T0 + H, 4.0), Graded(3, T0 + 3 * H, 10.0)]
    due = T0 + 2 * H
    assert official_attempt(graded, due, "last_on_time").id == 2
    assert official_attempt(graded, due, "best").id == 1
    assert official_attempt(graded, None, "last_on_time").id == 3
    assert official_attempt(graded, T0 - H, "best").id == 3  # nothing on time: the latest late attempt
    assert official_attempt([], due, "best") is None


def test_score_only_visibility_hides_messages_before_the_deadline():
    tasks = {"relu_forward": {"score": 0.0, "max_score": 1.0, "passed": 0, "failed": 2, "messages": ["relu: x"]}}
    policy = Policy(before_deadline="score", after_deadline="messages")
    assert visibility(T0, T0 + H, policy) == "score"
    assert visibility(T0 + 2 * H, T0 + H, policy) == "messages"
    assert visible_tasks(tasks, "score") == {"relu_forward": {"score": 0.0, "max_score": 1.0, "messages": []}}
    assert visible_tasks(tasks, "messages")["relu_forward"]["messages"] == ["relu: x"]


def test_policy_reads_the_course_config_and_rejects_unknown_choices():
    policy = Policy.from_config({"GradingService": {"attempts_per_window": "5", "counts": "best"}})
    assert (policy.attempts_per_window, policy.counts, policy.window_hours) == (5, "best", 24.0)
    with pytest.raises(PolicyError, match="counts must be one of"):
        Policy(counts="first")


@pytest.fixture
def queue(tmp_path):
    q = AttemptQueue(f"sqlite:///{tmp_path / 'gradebook.db'}")
    yield q
    q.close()


def _record(queue: AttemptQueue, source: str, student: str = "ada", **kwargs):
    return queue.record(
        student=student, assignment="mlp", source=source, snapshot="/x", submission_hash="h", submitted_at=T0, **kwargs
    )


def test_an_inbound_folder_is_recorded_once(queue):
    first = _record(queue, "ada+mlp+1")
    again = _record(queue, "ada+mlp+1")
    assert first.id == again.id and len(queue.attempts("mlp")) == 1


def test_attempts_move_queued_running_graded_and_a_restart_requeues_running_ones(queue):
    a, b = _record(queue, "ada+mlp+1"), _record(queue, "bob+mlp+1", student="bob")
    claimed = queue.claim()
    assert claimed.id == a.id and claimed.status == "running" and claimed.runs == 1
    assert queue.waiting_ahead(b.id) == 0
    assert queue.recover() == 1  # the service stopped while grading a
    assert queue.get(a.id).status == "queued"
    assert queue.claim().id == a.id and queue.get(a.id).runs == 2
    done = queue.finish(a.id, {"score": 3.0, "max_score": 11.0, "tasks": {}, "errors": []}, "g1")
    assert (done.status, done.score) == ("graded", 3.0)
    assert done.started_at <= done.finished_at
    assert queue.cached("ada", "mlp", "h", "g1")["score"] == 3.0
    assert queue.cached("ada", "mlp", "h", "g2") is None  # graders changed: no reuse


def test_refused_attempts_never_run_and_illegal_moves_are_rejected(queue):
    refused = _record(queue, "ada+mlp+2", refused_until=T0 + H, note="over the limit")
    assert refused.status == "refused" and refused.next_allowed_at == T0 + H
    assert queue.claim() is None
    assert queue.counted_times("ada", "mlp") == []
    with pytest.raises(InvalidTransition, match="refused -> running"):
        refused.move("running")


def test_regrade_all_requeues_graded_and_failed_attempts(queue):
    for source in ("ada+mlp+1", "bob+mlp+1"):
        _record(queue, source, student=source[:3])
        attempt = queue.claim()
        queue.finish(attempt.id, {"score": 1.0, "max_score": 2.0, "errors": []}, "g1", failed=source.startswith("bob"))
    assert queue.counts("mlp")["failed"] == 1
    assert queue.regrade_all("mlp") == 2
    assert queue.counts("mlp")["queued"] == 2
