"""The service's pages and API objects without a hub: the contract's keys, what a student may see, and
escaping of every student-controlled text in the instructor template."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from types import SimpleNamespace

from tornado.template import Loader

from mlplab.service.app import API_KEYS, TEMPLATES, attempt_view, teaching_messages
from mlplab.service.grader import as_utc_iso
from mlplab.service.policy import Policy
from mlplab.service.queue import AttemptQueue

SCRIPT = "<script>alert(1)</script>"
T0 = datetime(2026, 3, 1, 12, 0, 0)


def _graded(tmp_path, note=None):
    queue = AttemptQueue(f"sqlite:///{tmp_path / 'db.sqlite'}")
    queue.record(student="ada<b>", assignment="mlp", source="s1", snapshot="/x", submission_hash="h", submitted_at=T0)
    attempt = queue.claim()
    result = {
        "score": 1.0,
        "max_score": 3.0,
        "tasks": {"relu_forward": {"score": 1.0, "max_score": 3.0, "passed": 1, "failed": 2,
                                   "messages": [f"relu_forward: your code raised ValueError: {SCRIPT}"]}},
        "errors": [f"01_layers.ipynb: {SCRIPT}"],
    }
    done = queue.finish(attempt.id, result, "g")
    queue.close()
    return done


def test_api_objects_have_exactly_the_contract_keys_and_students_see_score_only_when_configured(tmp_path):
    attempt = _graded(tmp_path)
    service = SimpleNamespace(policy=Policy(before_deadline="score"))
    view = attempt_view(service, attempt, instructor=False, now=T0, window=(2, None), due=T0 + timedelta(days=1))
    assert tuple(view) == API_KEYS
    assert view["tasks"]["relu_forward"] == {"score": 1.0, "max_score": 3.0, "messages": []}
    assert view["submitted_at"] == as_utc_iso(T0) and view["attempts_left"] == 2 and view["next_allowed_at"] is None
    teacher = attempt_view(service, attempt, instructor=True, now=T0, window=(2, None), due=T0 + timedelta(days=1))
    assert teacher["tasks"]["relu_forward"]["messages"] == [f"relu_forward: your code raised ValueError: {SCRIPT}"]
    json.dumps(view)  # plain JSON


def test_instructor_page_escapes_names_messages_errors_and_notes(tmp_path):
    attempt = _graded(tmp_path)
    attempt.note = SCRIPT
    view = {"assignment": "mlp", "counts": {"graded": 1}, "active": [], "failed": [], "recent": [attempt],
            "pass_rates": {"relu_forward": 0.0}, "students": 1}
    page = Loader(str(TEMPLATES), autoescape="xhtml_escape").load("instructor.html").generate(
        user="prof", instructor=True, view=view, assignments=["mlp"], prefix="/services/grader/", iso=as_utc_iso,
        errors_of=lambda row: row.result["errors"], messages_of=teaching_messages, static_url=lambda path: path,
        xsrf_form_html=lambda: "", _tt_modules=SimpleNamespace(xsrf_form_html=lambda: ""),
    ).decode()
    assert "<script>" not in page and "ada<b>" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3  # message, error and note, all as text
    assert "ada&lt;b&gt;" in page
