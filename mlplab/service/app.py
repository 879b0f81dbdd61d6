"""``mlplab serve``: the grading service's web side, a JupyterHub-managed Tornado app.

Pages use the hub's OAuth (:class:`jupyterhub.services.auth.HubOAuthenticated`); the JSON API takes the
same login cookie or a hub API token (``Authorization: token ...``) and answers 403, never a redirect,
without one. Students see only their own attempts; members of the course's instructor group (a hub
group, ``c.GradingService.instructor_group``) see everyone's. Templates autoescape every value, and the
student page's script writes text with ``textContent`` only, so nothing a student controls (messages,
printed output, file names) is ever read as HTML. "Regrade all" is a POST with Tornado's XSRF token
(patched by the hub's auth) and an instructor check.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.httpserver import HTTPServer

from mlplab.service.grader import GradingService, as_utc_iso
from mlplab.service.policy import visibility, visible_tasks
from mlplab.service.queue import Attempt, utcnow
from mlplab.service.watcher import inbound_dir, watch

log = logging.getLogger("mlplab.service")
TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
API_KEYS = ("id", "student", "assignment", "submitted_at", "status", "score", "max_score", "tasks",
            "attempts_left", "next_allowed_at")  # the API contract (docs/DESIGN)


# -- views: plain dicts built from attempts (shared by the API and the pages) ----------------------


def attempt_view(service: GradingService, attempt: Attempt, *, instructor: bool, now: datetime,
                 window: tuple[int, datetime | None], due: datetime | None) -> dict:
    """One attempt as the API contract's object (``API_KEYS``), as the viewer may see it."""
    left, next_at = window
    result = attempt.result if attempt.status in ("graded", "failed") else None
    show = "messages" if instructor else visibility(now, due, service.policy)
    return {
        "id": attempt.id,
        "student": attempt.student,
        "assignment": attempt.assignment,
        "submitted_at": as_utc_iso(attempt.submitted_at),
        "status": attempt.status,
        "score": attempt.score if result is not None else None,
        "max_score": attempt.max_score if result is not None else None,
        "tasks": visible_tasks(result.get("tasks", {}), show) if result else {},
        "attempts_left": left,
        "next_allowed_at": as_utc_iso(attempt.next_allowed_at if attempt.status == "refused" else next_at),
    }


def attempts_for(service: GradingService, assignment: str, student: str | None, instructor: bool) -> list[dict]:
    """The API's list: one student's attempts (or, for instructors without ``student``, everyone's)."""
    now = utcnow()
    rows = service.queue.attempts(assignment, student)
    windows: dict[str, tuple[int, datetime | None]] = {}
    deadlines: dict[str, datetime | None] = {}
    out = []
    for attempt in rows:
        if attempt.student not in windows:
            windows[attempt.student] = service.window(attempt.student, assignment, now)
            deadlines[attempt.student] = service.deadline_of(attempt.student, assignment)
        out.append(attempt_view(service, attempt, instructor=instructor, now=now,
                                window=windows[attempt.student], due=deadlines[attempt.student]))
    return out


def page_view(service: GradingService, assignment: str, student: str) -> dict:
    """What the student page shows for one assignment: attempts (newest first), their extras, the window."""
    attempts = attempts_for(service, assignment, student, instructor=False)
    rows = {a.id: a for a in service.queue.attempts(assignment, student)}
    for item in attempts:
        row = rows[item["id"]]
        item["queue_position"] = service.queue.waiting_ahead(row.id) + 1 if row.status == "queued" else None
        item["official"] = row.official
        item["note"] = row.note
        item["errors"] = list((row.result or {}).get("errors", [])) if row.status in ("graded", "failed") else []
    left, next_at = service.window(student, assignment)
    due = service.deadline_of(student, assignment)
    return {
        "assignment": assignment,
        "student": student,
        "attempts_left": left,
        "attempts_per_window": service.policy.attempts_per_window,
        "window_hours": service.policy.window_hours,
        "next_allowed_at": as_utc_iso(next_at),
        "deadline": as_utc_iso(due),
        "attempts": list(reversed(attempts)),
    }


def instructor_view(service: GradingService, assignment: str) -> dict:
    """The queue and the class picture: counts, waiting/running/failed attempts, pass rates of the latest."""
    from mlplab.course.report import task_pass_rates

    rows = service.queue.attempts(assignment)
    latest: dict[str, dict] = {}
    for row in rows:
        if row.status == "graded" and row.result:
            latest[row.student] = row.result
    return {
        "assignment": assignment,
        "counts": service.queue.counts(assignment),
        "active": [r for r in rows if r.status in ("queued", "running")],
        "failed": [r for r in rows if r.status == "failed"],
        "recent": list(reversed(rows))[:50],
        "pass_rates": task_pass_rates(latest),
        "students": len(latest),
    }


def teaching_messages(row: Attempt, limit: int = 6) -> tuple[list[str], int]:
    """The messages worth an instructor's glance (at most ``limit``) and how many tasks are still blank."""
    messages = [m for info in ((row.result or {}).get("tasks") or {}).values() for m in info.get("messages", [])]
    blank = sum(1 for m in messages if "not implemented yet" in m)
    return [m for m in messages if "not implemented yet" not in m][:limit], blank


# -- handlers ------------------------------------------------------------------------------------


class Base(HubOAuthenticated, web.RequestHandler):
    """Common parts: the service, the course's assignments, who is an instructor."""

    @property
    def service(self) -> GradingService:
        return self.settings["grading"]

    def is_instructor(self, user: dict | None) -> bool:
        return bool(user) and self.service.policy.instructor_group in (user.get("groups") or [])

    def assignments(self) -> list[str]:
        return self.settings["assignments"]()

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy", "default-src 'self'; frame-ancestors 'self'")
        self.set_header("Referrer-Policy", "same-origin")


class StudentPage(Base):
    @web.authenticated
    def get(self) -> None:
        user = self.current_user
        assignment = self.get_argument("assignment", None) or (self.assignments() or [""])[0]
        self.render(
            "student.html",
            user=user["name"],
            instructor=self.is_instructor(user),
            assignments=self.assignments(),
            assignment=assignment,
            prefix=self.settings["prefix"],
        )


class InstructorPage(Base):
    @web.authenticated
    def get(self) -> None:
        user = self.current_user
        if not self.is_instructor(user):
            raise web.HTTPError(403, "only instructors see the class queue")
        assignment = self.get_argument("assignment", None) or (self.assignments() or [""])[0]
        self.render(
            "instructor.html",
            user=user["name"],
            instructor=True,
            view=instructor_view(self.service, assignment),
            assignments=self.assignments(),
            prefix=self.settings["prefix"],
            iso=as_utc_iso,
            errors_of=lambda row: list((row.result or {}).get("errors", [])),
            messages_of=teaching_messages,
        )


class RegradeAll(Base):
    @web.authenticated
    def post(self) -> None:  # Tornado checks the XSRF token before this runs
        if not self.is_instructor(self.current_user):
            raise web.HTTPError(403, "only instructors can regrade")
        assignment = self.get_argument("assignment")
        count = self.service.queue.regrade_all(assignment)
        self.service.graders_hash = self.settings["refresh_graders"]()
        log.info("%s re-queued %d attempts of %s", self.current_user["name"], count, assignment)
        self.settings["wake"]()
        self.redirect(url_path_join(self.settings["prefix"], f"instructor?assignment={assignment}"))


class ApiBase(Base):
    """JSON only: 403 without hub authentication (no login redirect for API clients)."""

    def get_login_url(self) -> str:
        raise web.HTTPError(403, "hub authentication required")

    def write_error(self, status_code: int, **kwargs) -> None:
        self.set_header("Content-Type", "application/json")
        reason = self._reason
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, web.HTTPError) and exc.log_message:
            reason = exc.log_message
        self.finish(json.dumps({"status": status_code, "message": reason}))

    def authorised(self) -> tuple[dict, str, str | None, bool]:
        user = self.current_user
        if not user:
            raise web.HTTPError(403, "hub authentication required")
        assignment = self.get_argument("assignment", None)
        if not assignment:
            raise web.HTTPError(400, "the assignment parameter is required: api/attempts?assignment=ID")
        instructor = self.is_instructor(user)
        student = self.get_argument("student", None)
        if not instructor:
            if student not in (None, user["name"]):
                raise web.HTTPError(403, "students see only their own attempts")
            student = user["name"]
        return user, assignment, student, instructor


class AttemptsApi(ApiBase):
    def get(self) -> None:
        _, assignment, student, instructor = self.authorised()
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(attempts_for(self.service, assignment, student, instructor)))


class PageApi(ApiBase):
    """What the student page refreshes from (the contract's objects plus queue position and notes)."""

    def get(self) -> None:
        user, assignment, student, _ = self.authorised()
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(page_view(self.service, assignment, student or user["name"])))


# -- the process ---------------------------------------------------------------------------------


def _cookie_secret(state_dir: Path) -> bytes:
    path = state_dir / "cookie_secret"
    if not path.is_file():
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()


def course_assignments(service: GradingService) -> list[str]:
    """Assignments of the course (nbgrader's gradebook), plus any that have attempts."""
    from nbgrader.api import Gradebook

    with Gradebook(service.db_url, service.course_id) as gb:
        names = [a.name for a in gb.assignments]
    for attempt in service.queue.attempts():
        if attempt.assignment not in names:
            names.append(attempt.assignment)
    return names


def make_app(service: GradingService, prefix: str, *, wake=lambda: None) -> web.Application:
    """The Tornado application of the service under ``prefix`` (the hub's service prefix)."""
    from mlplab.coursedir import content_hash

    prefix = prefix if prefix.endswith("/") else prefix + "/"
    hub_auth = HubOAuth.instance()
    hub_auth.api_url = os.environ.get("JUPYTERHUB_API_URL", hub_auth.api_url)

    def route(path: str) -> str:
        return url_path_join(prefix, path)

    return web.Application(
        [
            (prefix, StudentPage),
            (route("instructor"), InstructorPage),
            (route("instructor/regrade"), RegradeAll),
            (route("api/attempts"), AttemptsApi),
            (route("api/page"), PageApi),
            (route("oauth_callback"), HubOAuthCallbackHandler),
        ],
        template_path=str(TEMPLATES),
        static_path=str(STATIC),
        static_url_prefix=route("static/"),
        autoescape="xhtml_escape",
        cookie_secret=_cookie_secret(service.state_dir),
        xsrf_cookies=True,
        grading=service,
        prefix=prefix,
        assignments=lambda: course_assignments(service),
        refresh_graders=lambda: content_hash(service.root, extra=service.settings.grade_inputs()),
        wake=wake,
    )


class Runner:
    """The grading loop of the service: the watcher and ``policy.workers`` graders on threads."""

    def __init__(self, service: GradingService, inbound: Path, slot_base: int, rescan_s: float = 10.0) -> None:
        self.service = service
        self.inbound = inbound
        self.slot_base = slot_base
        self.rescan_s = rescan_s
        self.stop = asyncio.Event()
        self.work = asyncio.Event()
        self.pool = ThreadPoolExecutor(max_workers=service.policy.workers, thread_name_prefix="grader")

    def wake(self) -> None:
        self.work.set()

    async def worker(self, slot: int) -> None:
        loop = asyncio.get_running_loop()
        while not self.stop.is_set():
            try:
                done = await loop.run_in_executor(self.pool, self.service.grade_next, slot)
            except Exception:  # noqa: BLE001 - a database hiccup must not end the worker
                log.exception("grading worker %s", slot)
                done = None
            if done is not None:
                log.info("attempt %s of %s: %s %s", done.id, done.student, done.status, done.score)
                continue
            self.work.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.work.wait(), timeout=2.0)

    async def run(self) -> None:
        requeued = self.service.queue.recover()
        if requeued:
            log.info("re-queued %d attempts a stopped service left running", requeued)
        tasks = [asyncio.create_task(self.worker(self.slot_base + i)) for i in range(self.service.policy.workers)]
        tasks.append(asyncio.create_task(
            watch(self.service, self.inbound, self.stop, rescan_s=self.rescan_s, on_new=lambda _new: self.wake())
        ))
        await self.stop.wait()
        for task in tasks:
            task.cancel()
        self.pool.shutdown(wait=False, cancel_futures=True)


async def serve(root: Path, exchange: Path, *, port: int | None = None, prefix: str | None = None,
                db_url: str | None = None, rescan_s: float = 10.0) -> None:
    """Run the service until SIGTERM/SIGINT (the hub stops managed services with SIGTERM)."""
    service = GradingService(root, db_url=db_url)
    prefix = prefix or os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/grader/")
    if port is None:
        from urllib.parse import urlparse

        url = os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101")
        port = urlparse(url).port or 10101
    runner = Runner(service, inbound_dir(exchange, service.course_id),
                    slot_base=service.settings.autograde.slot_base, rescan_s=rescan_s)
    app = make_app(service, prefix, wake=runner.wake)
    server = HTTPServer(app, xheaders=True)
    server.listen(port, address="127.0.0.1")
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, runner.stop.set)
    log.info("mlplab grading service on 127.0.0.1:%s%s (course %s)", port, prefix, root)
    try:
        await runner.run()
    finally:
        server.stop()
        service.close()
