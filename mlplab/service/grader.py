"""The grading side of the service: attempts in, results and official grades out.

:class:`GradingService` ties the pieces together without any web or hub code, so it is tested on its own:

- :meth:`ingest` turns one folder of nbgrader's inbound exchange into an attempt (a private copy, the
  notebooks' hash, queued or refused by the attempts window);
- :meth:`grade_next` grades the oldest queued attempt through the same job runner as ``mlplab
  autograde`` (:func:`mlplab.autograde.grade_job`: ``mlplab grade --json`` on a copy, in its own process,
  student code in the sandbox), or reuses the result of an identical earlier attempt;
- :meth:`update_official` picks the attempt that counts and writes it to nbgrader's gradebook through the
  one trusted writer (:class:`mlplab.course.gradebook.Writer`), as ``mlplab autograde`` does.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mlplab.grading.result import GradeResult
from mlplab.service.policy import Graded, Policy, deadline, official_attempt, window_state
from mlplab.service.queue import Attempt, AttemptQueue, naive_utc, utcnow

log = logging.getLogger(__name__)  # a child of "mlplab.service": the service's own handlers show it
SNAPSHOT_FILES = ("timestamp.txt", "submission_secret.txt")
# what a submission is graded on: the notebooks and submitted data files (the trained weights of the optional
# task fc_net_challenge, grader_tests/conftest.py SUBMITTED_FILES); read as data, never executed
GRADED_SUFFIXES = (".ipynb", ".npz")
MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024  # a submission larger than this is refused, not copied


class InboundError(ValueError):
    """An inbound folder the service cannot take as a submission (the message says why)."""


@dataclass(frozen=True)
class Inbound:
    """One folder of the exchange's inbound directory: ``student+assignment+timestamp[+random]``."""

    path: Path
    student: str
    assignment: str

    @property
    def source(self) -> str:
        return self.path.name


def parse_inbound(path: Path) -> Inbound:
    """Read student and assignment from an inbound folder's name (nbgrader's layout)."""
    parts = path.name.split("+")
    if len(parts) < 3 or not parts[0] or not parts[1]:
        raise InboundError(f"{path.name}: not an nbgrader submission folder (student+assignment+timestamp)")
    return Inbound(path, parts[0], parts[1])


def submission_complete(path: Path) -> bool:
    """Whether nbgrader finished writing the folder (it writes submission_secret.txt last)."""
    return (path / "submission_secret.txt").is_file()


def copy_submission(src: Path, dest: Path) -> None:
    """Copy the notebooks and nbgrader's files of an inbound folder, never following links.

    Only regular files at the top level are copied (``*.ipynb``, ``*.npz``, ``timestamp.txt``,
    ``submission_secret.txt``): a symlink planted in a submission cannot make the service read anything
    else, and the source is only ever opened for reading.
    """
    dest.mkdir(parents=True, exist_ok=False)
    total = 0
    for entry in sorted(os.scandir(src), key=lambda e: e.name):
        if not (entry.name.endswith(GRADED_SUFFIXES) or entry.name in SNAPSHOT_FILES):
            continue
        info = entry.stat(follow_symlinks=False)
        if not stat.S_ISREG(info.st_mode):
            continue
        total += info.st_size
        if total > MAX_SNAPSHOT_BYTES:
            raise InboundError(f"the submission is larger than {MAX_SNAPSHOT_BYTES // 2**20} MiB")
        fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as reader, open(dest / entry.name, "wb") as writer:
            shutil.copyfileobj(reader, writer)


def notebooks_hash(folder: Path) -> str:
    """SHA-256 over the names and bytes of the notebooks and submitted ``*.npz`` files (what decides the grade;
    timestamps excluded)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if p.name.endswith(GRADED_SUFFIXES) and p.is_file()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def read_submitted_at(folder: Path, noticed: datetime) -> datetime:
    """nbgrader's submission time (``timestamp.txt``), never later than when the service saw it."""
    from mlplab.course.gradebook import read_timestamp

    stamp = read_timestamp(folder)
    if stamp is None:
        return noticed
    return min(naive_utc(stamp), noticed)


def owner_matches(inbound: Inbound) -> bool:
    """Whether the folder belongs to the student's Unix account (when the student has one).

    nbgrader's inbound is writable by every student, so a folder named after someone else could be
    planted; with real Unix users (LocalProcessSpawner, The Littlest JupyterHub) its owner tells.
    Container setups run everyone as ``jovyan``: there, no account of that name exists and all pass.
    """
    import pwd

    try:
        expected = pwd.getpwnam(inbound.student).pw_uid
    except KeyError:
        return True
    return inbound.path.stat(follow_symlinks=False).st_uid in (expected, 0)


def is_failure(result: dict) -> bool:
    """A result of a job that could not grade at all (errors and not a single check ran)."""
    return GradeResult.from_json(result).could_not_grade


def short_reason(exc: BaseException) -> str:
    """The one line the pages show for an attempt that raised (the traceback goes to the service log)."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"grading failed: {type(exc).__name__}{': ' + first[:200] if first else ''} (details in the service log)"


class GradingService:
    """Queue, policy, grading and official grades of one course."""

    def __init__(
        self,
        root: Path,
        *,
        db_url: str | None = None,
        state_dir: Path | None = None,
        policy: Policy | None = None,
    ) -> None:
        from mlplab.config import load as load_settings
        from mlplab.course.gradebook import course_config, db_url_of
        from mlplab.coursedir import content_hash

        self.root = root.resolve()
        self.db_url, self.course_id = db_url_of(self.root, db_url)
        self.policy = policy or Policy.from_config(course_config(self.root))
        self.settings = load_settings(self.root)  # sandbox budget and job settings, passed to every job
        self.state_dir = (state_dir or self.root / "service").resolve()
        self.snapshots = self.state_dir / "attempts"
        self.snapshots.mkdir(parents=True, exist_ok=True)
        self.queue = AttemptQueue(self.db_url)
        self.graders_hash = content_hash(self.root, extra=self.settings.grade_inputs())
        self._gradebook_lock = threading.Lock()  # one trusted writer at a time, whatever the workers

    def close(self) -> None:
        from mlplab.autograde import close_grading_processes

        close_grading_processes()
        self.queue.close()

    # -- deadlines (nbgrader's gradebook) ----------------------------------------------
    def deadline_of(self, student: str, assignment: str) -> datetime | None:
        """Due date plus extension, from nbgrader's gradebook (naive UTC; None without a due date)."""
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(self.db_url, self.course_id) as gb:
            try:
                due = gb.find_assignment(assignment).duedate
            except MissingEntry:
                return None
            try:
                extension = gb.find_submission(assignment, student).extension
            except MissingEntry:
                extension = None
        return deadline(due, extension if isinstance(extension, timedelta) else None)

    def window(self, student: str, assignment: str, now: datetime | None = None) -> tuple[int, datetime | None]:
        """``(attempts_left, next_allowed_at)`` of a student now."""
        return window_state(self.queue.counted_times(student, assignment), now or utcnow(), self.policy)

    # -- intake -------------------------------------------------------------------
    def ingest(self, path: Path) -> Attempt | None:
        """Record the inbound folder ``path`` as an attempt (None when it is not complete yet).

        Idempotent: a folder already recorded returns its attempt.
        """
        inbound = parse_inbound(path)
        if inbound.source in self.queue.known_sources():
            mine = self.queue.attempts(inbound.assignment, inbound.student)
            return next(a for a in mine if a.source == inbound.source)
        if not submission_complete(path):
            return None
        noticed = utcnow()
        snapshot = self.snapshots / _safe_name(inbound.source)
        shutil.rmtree(snapshot, ignore_errors=True)  # a copy left half-made by a stopped service
        note = None
        digest = ""
        try:
            if not owner_matches(inbound):
                raise InboundError(f"this folder was not submitted from {inbound.student}'s account")
            copy_submission(path, snapshot)
            digest = notebooks_hash(snapshot)
        except (InboundError, OSError) as exc:
            note = f"not graded: {exc}"
        submitted_at = read_submitted_at(snapshot, noticed) if note is None else noticed
        left, next_at = self.window(inbound.student, inbound.assignment, noticed)
        if note is None and left == 0:
            limit = self.policy
            note = f"over the limit of {limit.attempts_per_window} graded attempts per {limit.window_hours:g} h"
        return self.queue.record(
            student=inbound.student,
            assignment=inbound.assignment,
            source=inbound.source,
            snapshot=str(snapshot),
            submission_hash=digest,
            submitted_at=submitted_at,
            refused_until=next_at if note and left == 0 else None,
            note=note,
        )

    # -- grading -------------------------------------------------------------------
    def _grade_in_sandbox(self, attempt: Attempt, slot: int) -> dict:
        """The thin call site into ``mlplab autograde``'s job runner (one private copy, one process)."""
        from mlplab.autograde import Job, grade_job

        job = Job(attempt.student, attempt.snapshot, env=tuple(sorted(self.settings.environ().items())),
                  timeout_s=self.settings.autograde.job_timeout_s)
        return grade_job(job, slot, str(self.root))

    def grade_next(self, slot: int = 0) -> Attempt | None:
        """Grade the oldest queued attempt (None when none is waiting)."""
        attempt = self.queue.claim()
        if attempt is None:
            return None
        cached = self.queue.cached(attempt.student, attempt.assignment, attempt.submission_hash, self.graders_hash)
        if cached is not None:
            done = self.queue.finish(attempt.id, cached, self.graders_hash, reused=True)
        else:
            try:
                result = self._grade_in_sandbox(attempt, slot)
            except Exception as exc:  # noqa: BLE001 - one broken attempt never stops the service
                log.exception("attempt %s (%s, %s): grading failed", attempt.id, attempt.student, attempt.assignment)
                result = GradeResult(errors=(short_reason(exc),)).to_json()
            else:
                if is_failure(result):
                    log.warning("attempt %s (%s, %s) could not be graded: %s", attempt.id, attempt.student,
                                attempt.assignment, "; ".join(map(str, result.get("errors", []))))
            result.pop("student", None)
            done = self.queue.finish(attempt.id, result, self.graders_hash, failed=is_failure(result))
        if done.status == "graded":
            self.update_official(done.student, done.assignment)
        return done

    # -- official grades -------------------------------------------------------------
    def update_official(self, student: str, assignment: str) -> Attempt | None:
        """Write the attempt that counts to nbgrader's gradebook; returns it (None without one)."""
        attempts = [a for a in self.queue.attempts(assignment, student) if a.status == "graded"]
        due = self.deadline_of(student, assignment)
        chosen = official_attempt(
            [Graded(a.id, a.submitted_at, a.score or 0.0) for a in attempts], due, self.policy.counts
        )
        if chosen is None:
            return None
        attempt = next(a for a in attempts if a.id == chosen.id)
        with self._gradebook_lock:
            write_official_grade(self.root, self.db_url, attempt)
            self.queue.mark_official(student, assignment, attempt.id)
        return attempt


def write_official_grade(root: Path, db_url: str, attempt: Attempt) -> None:
    """Put the attempt where ``nbgrader collect`` would (``submitted/<student>/<assignment>``) and write its
    result through the trusted gradebook writer, exactly as ``mlplab autograde`` does.

    The writer keeps hand-grading (it never touches manual scores); ``mlplab autograde`` run later on the
    same ``submitted/`` folder grades the same files and so gives the same grades.
    """
    from mlplab.course.gradebook import Writer
    from mlplab.coursedir import ASSIGNMENT, CourseDir

    if attempt.assignment != ASSIGNMENT:
        return
    target = CourseDir(root, attempt.assignment).submitted(attempt.student)
    staging = target.with_name(f".{attempt.assignment}.service-{attempt.id}")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(attempt.snapshot, staging)
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    writer = Writer(root, db_url=db_url)
    try:
        writer.write(attempt.student, attempt.result)
    finally:
        writer.close()


def _safe_name(source: str) -> str:
    """A file name for an inbound folder's snapshot (its name, with anything odd replaced)."""
    keep = "".join(c if c.isalnum() or c in "+-_.=" else "_" for c in source)
    return keep.lstrip(".") or "attempt"


def as_utc_iso(moment: datetime | None) -> str | None:
    """A naive-UTC time as ISO 8601 with an explicit ``Z``-equivalent offset."""
    return None if moment is None else moment.replace(tzinfo=UTC).isoformat()
