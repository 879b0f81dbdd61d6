"""The persistent attempt queue: one table in the course database (SQLite or PostgreSQL).

Every attempt moves through ``queued -> running -> graded | failed``; an attempt over the course's
limit goes ``queued -> refused`` when it is recorded. ``running -> queued`` happens only when a
(re)started service recovers attempts a stopped one left running, and ``graded | failed -> queued``
only for "regrade all". Any other move raises :class:`InvalidTransition`: nothing is graded twice by
accident, and nothing is lost when the service stops (the table is the queue).

The table lives beside nbgrader's own tables (``mlplab_attempt``; nbgrader never touches it) and is
created when missing, so an existing gradebook needs no migration step.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    Integer,
    String,
    Text,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

STATUSES = ("queued", "running", "graded", "refused", "failed")
TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"running", "refused"}),
    "running": frozenset({"graded", "failed", "queued"}),
    "graded": frozenset({"queued"}),
    "failed": frozenset({"queued"}),
    "refused": frozenset(),
}


class InvalidTransition(RuntimeError):
    """An attempt was asked to move between two states the state machine does not connect."""


def utcnow() -> datetime:
    """Now, as a naive UTC datetime (how the table stores every time)."""
    return datetime.now(UTC).replace(tzinfo=None)


def naive_utc(moment: datetime) -> datetime:
    """``moment`` as a naive UTC datetime (aware datetimes are converted, naive ones taken as UTC)."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


class Base(DeclarativeBase):
    pass


class Attempt(Base):
    """One submission noticed in the exchange."""

    __tablename__ = "mlplab_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    student: Mapped[str] = mapped_column(String(128), index=True)
    assignment: Mapped[str] = mapped_column(String(128), index=True)
    source: Mapped[str] = mapped_column(String(512), unique=True)  # the inbound folder's name
    snapshot: Mapped[str] = mapped_column(Text)  # the service's private copy
    submission_hash: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    noticed_at: Mapped[datetime] = mapped_column(DateTime)  # when the service saw it (the window's clock)
    queued_at: Mapped[datetime] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    runs: Mapped[int] = mapped_column(Integer, default=0)  # times a worker started grading it
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    result_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    graders_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reused: Mapped[bool] = mapped_column(Boolean, default=False)  # result taken from an identical attempt
    official: Mapped[bool] = mapped_column(Boolean, default=False)  # the attempt in the gradebook
    note: Mapped[str | None] = mapped_column(Text, nullable=True)  # refusal or failure reason
    next_allowed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    @property
    def result(self) -> dict | None:
        return json.loads(self.result_json) if self.result_json else None

    def move(self, to: str) -> None:
        """Change the status, enforcing the state machine."""
        if to not in TRANSITIONS.get(self.status, frozenset()):
            raise InvalidTransition(f"attempt {self.id}: {self.status} -> {to} is not allowed")
        self.status = to


class AttemptQueue:
    """The attempt table of one database and the operations of the service on it."""

    def __init__(self, db_url: str) -> None:
        kwargs = {"connect_args": {"timeout": 30}} if db_url.startswith("sqlite") else {}
        self.engine = create_engine(db_url, **kwargs)
        if db_url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        Base.metadata.create_all(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    # -- recording ---------------------------------------------------------------
    def known_sources(self) -> set[str]:
        with self.sessions() as db:
            return set(db.scalars(select(Attempt.source)))

    def record(
        self,
        *,
        student: str,
        assignment: str,
        source: str,
        snapshot: str,
        submission_hash: str,
        submitted_at: datetime,
        refused_until: datetime | None = None,
        note: str | None = None,
    ) -> Attempt:
        """Record one attempt (once per ``source``): queued, or refused at once with ``refused_until``."""
        with self.sessions() as db, db.begin():
            existing = db.scalar(select(Attempt).where(Attempt.source == source))
            if existing is not None:
                return existing
            attempt = Attempt(
                student=student,
                assignment=assignment,
                source=source,
                snapshot=snapshot,
                submission_hash=submission_hash,
                submitted_at=naive_utc(submitted_at),
                status="queued",
                noticed_at=utcnow(),
                queued_at=utcnow(),
                runs=0,
                reused=False,
                official=False,
            )
            if refused_until is not None or note is not None:
                attempt.move("refused")
                attempt.next_allowed_at = refused_until
                attempt.note = note
                attempt.finished_at = utcnow()
            db.add(attempt)
        return attempt

    # -- the worker side -----------------------------------------------------------
    def recover(self) -> int:
        """Re-queue attempts a stopped service left ``running``; returns how many."""
        with self.sessions() as db, db.begin():
            stuck = db.scalars(select(Attempt).where(Attempt.status == "running")).all()
            for attempt in stuck:
                attempt.move("queued")
                attempt.started_at = None
            return len(stuck)

    def claim(self) -> Attempt | None:
        """The oldest queued attempt, now ``running`` (None when the queue is empty).

        The compare-and-set update makes a claim atomic even with several workers or processes.
        """
        while True:
            with self.sessions() as db, db.begin():
                candidate = db.scalar(
                    select(Attempt.id).where(Attempt.status == "queued").order_by(Attempt.id).limit(1)
                )
                if candidate is None:
                    return None
                claimed = db.execute(
                    update(Attempt)
                    .where(Attempt.id == candidate, Attempt.status == "queued")
                    .values(status="running", started_at=utcnow(), runs=Attempt.runs + 1)
                ).rowcount
            if claimed:
                return self.get(candidate)

    def finish(
        self, attempt_id: int, result: dict, graders_hash: str, *, failed: bool = False, reused: bool = False
    ) -> Attempt:
        """Store the result of a running attempt: ``graded`` (or ``failed`` when grading could not run)."""
        with self.sessions() as db, db.begin():
            attempt = db.get(Attempt, attempt_id)
            attempt.move("failed" if failed else "graded")
            attempt.finished_at = utcnow()
            attempt.score = float(result.get("score", 0.0))
            attempt.max_score = float(result.get("max_score", 0.0))
            attempt.result_json = json.dumps(result)
            attempt.graders_hash = graders_hash
            attempt.reused = reused
            attempt.note = "; ".join(result.get("errors", []))[:2000] if failed else None
        return attempt

    def cached(self, student: str, assignment: str, submission_hash: str, graders_hash: str) -> dict | None:
        """The result of an earlier graded attempt with the same notebooks and graders, if any."""
        with self.sessions() as db:
            row = db.scalar(
                select(Attempt)
                .where(
                    Attempt.student == student,
                    Attempt.assignment == assignment,
                    Attempt.submission_hash == submission_hash,
                    Attempt.graders_hash == graders_hash,
                    Attempt.status == "graded",
                )
                .order_by(Attempt.id.desc())
                .limit(1)
            )
            return row.result if row is not None else None

    def mark_official(self, student: str, assignment: str, attempt_id: int | None) -> None:
        with self.sessions() as db, db.begin():
            for attempt in db.scalars(
                select(Attempt).where(Attempt.student == student, Attempt.assignment == assignment)
            ):
                attempt.official = attempt.id == attempt_id

    def regrade_all(self, assignment: str) -> int:
        """Send every graded or failed attempt of ``assignment`` back to the queue; returns how many."""
        with self.sessions() as db, db.begin():
            rows = db.scalars(
                select(Attempt).where(Attempt.assignment == assignment, Attempt.status.in_(("graded", "failed")))
            ).all()
            for attempt in rows:
                attempt.move("queued")
                attempt.queued_at = utcnow()
                attempt.started_at = None
                attempt.graders_hash = None
            return len(rows)

    # -- reading -----------------------------------------------------------------
    def get(self, attempt_id: int) -> Attempt:
        with self.sessions() as db:
            return db.get(Attempt, attempt_id)

    def attempts(self, assignment: str | None = None, student: str | None = None) -> list[Attempt]:
        """Attempts, oldest first (optionally of one assignment and/or student)."""
        query = select(Attempt).order_by(Attempt.id)
        if assignment is not None:
            query = query.where(Attempt.assignment == assignment)
        if student is not None:
            query = query.where(Attempt.student == student)
        with self.sessions() as db:
            return list(db.scalars(query))

    def counted_times(self, student: str, assignment: str) -> list[datetime]:
        """When the service noticed the attempts that count against the limit (all but refused ones).

        The service's own clock, not the student-written ``timestamp.txt``, so a back-dated submission
        cannot slip out of the window.
        """
        with self.sessions() as db:
            return list(
                db.scalars(
                    select(Attempt.noticed_at).where(
                        Attempt.student == student, Attempt.assignment == assignment, Attempt.status != "refused"
                    )
                )
            )

    def waiting_ahead(self, attempt_id: int) -> int:
        """How many queued attempts will be graded before this one."""
        with self.sessions() as db:
            return int(
                db.scalar(select(func.count()).where(Attempt.status == "queued", Attempt.id < attempt_id)) or 0
            )

    def counts(self, assignment: str | None = None) -> dict[str, int]:
        query = select(Attempt.status, func.count()).group_by(Attempt.status)
        if assignment is not None:
            query = query.where(Attempt.assignment == assignment)
        with self.sessions() as db:
            found = dict(db.execute(query).all())
        return {status: int(found.get(status, 0)) for status in STATUSES}


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.close()


def latest_graded(attempts: Sequence[Attempt]) -> Attempt | None:
    graded = [a for a in attempts if a.status == "graded"]
    return graded[-1] if graded else None
