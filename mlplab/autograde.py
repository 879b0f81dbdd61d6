"""``mlplab autograde``: hardened, parallel autograding into the nbgrader gradebook.

Every submission in ``submitted/<student>/mlp/`` is an independent job:

1. its files are copied into a private workspace (the submission itself is
   never opened for writing);
2. ``mlplab grade`` runs on the copy in a trusted grading process, which starts a fresh
   sandbox with workers for the student code (see :mod:`mlplab.sandbox.host.launch`). Each job slot
   keeps one persistent grading process (:class:`GradingProcess`, :mod:`mlplab.grade_server`)
   that grades submission after submission, so the interpreter start, the imports and the grader
   collection are paid once per slot, not once per submission; every submission still gets its own
   sandbox and memory budget;
3. the result (a value-only JSON object) is cached under
   ``autograded/.mlplab/<student>.json`` with a hash of the submission and the
   content hash of the toolkit, graders and reference (:func:`mlplab.coursedir.content_hash`), so
   re-running is idempotent, resumes after an interruption, and regrades after an upgrade.

Jobs run on a local pool (``--backend local``) or a dask cluster
(``--backend dask``). One trusted writer, this process, merges the results
into the gradebook (:mod:`mlplab.course.gradebook`) and writes the autograded
notebooks that ``nbgrader generate_feedback`` turns into feedback HTML.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from mlplab.config import Autograde, Settings
from mlplab.config import load as load_settings
from mlplab.coursedir import ASSIGNMENT, CourseDir, content_hash, course_root, tasks
from mlplab.grading.result import GradeResult

log = logging.getLogger(__name__)
RESULT_DIR = ".mlplab"


@dataclass(frozen=True)
class Job:
    """One submission to grade.

    ``env``: the settings the job's ``mlplab grade`` process must see (:meth:`mlplab.config.Settings.environ`),
    passed to it explicitly; ``timeout_s``: its wall time before it is stopped (``c.Autograde.job_timeout_s``).
    """

    student: str
    path: str  # the submitted folder (read only)
    unsafe: bool = False
    env: tuple[tuple[str, str], ...] = ()
    timeout_s: float = Autograde.class_traits()["job_timeout_s"].default_value


def _hash_tree(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def submission_hash(path: Path) -> str:
    return _hash_tree(path)


def grade_job(job: Job, slot: int = 0, root: str | None = None) -> dict:
    """Grade one submission in a private copy; always returns a result object.

    Runs ``mlplab grade --json`` in a separate trusted process (the slot's persistent
    :class:`GradingProcess`, or a new process per submission with ``MLPLAB_PROCESS_PER_SUBMISSION=1``)
    so that nothing a submission does can take down the batch.
    """
    started = time.monotonic()
    src = Path(job.path)
    workspace = Path(tempfile.mkdtemp(prefix=f"mlplab-job-{slot}-"))
    try:
        copy = workspace / ASSIGNMENT
        shutil.copytree(src, copy, symlinks=False, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        env = {**os.environ, **dict(job.env), "MLPLAB_SANDBOX_SLOT": str(slot)}
        if root:
            env["MLPLAB_COURSE_ROOT"] = root
        argv = ["grade", str(copy), "--json"] + (["--unsafe-no-sandbox"] if job.unsafe else [])
        try:
            if env.get(PER_SUBMISSION_ENV) == "1":
                proc = subprocess.run([sys.executable, "-m", "mlplab", *argv], capture_output=True, text=True,
                                      timeout=job.timeout_s, env=env)
                code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
            else:
                code, stdout, stderr = grading_process(slot, env).run(argv, job.timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("grading %s took longer than %g s and was stopped", job.student, job.timeout_s)
            return _failed(job, f"grading took longer than {job.timeout_s:g} s and was stopped", started, root)
        except GradingProcessDied as exc:
            log.warning("grading %s: %s", job.student, exc)
            return _failed(job, str(exc), started, root)
        if code != 0:
            log.warning("grading %s failed (exit %s):\n%s", job.student, code, stderr[-4000:])
            return _failed(job, (stderr.strip().splitlines() or ["grading failed"])[-1], started, root)
        try:
            result = GradeResult.from_json(json.loads(stdout))
        except (json.JSONDecodeError, AttributeError, TypeError, ValueError):
            return _failed(job, "the grader produced no result", started, root)
        return _record(job, result, started)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def _record(job: Job, result: GradeResult, started: float) -> dict:
    """A job's outcome as the result cache and the gradebook writer keep it: the ``mlplab grade --json`` object
    (:meth:`GradeResult.to_json`) with the student and the seconds it took."""
    return {**result.to_json(), "student": job.student, "seconds": round(time.monotonic() - started, 3)}


# -- persistent grading processes -------------------------------------------------

PER_SUBMISSION_ENV = "MLPLAB_PROCESS_PER_SUBMISSION"  # "1": the old way, one `mlplab grade` per submission
MAX_SUBMISSIONS_PER_PROCESS = 200  # then a fresh process (bounds whatever a long run accumulates)
PR_SET_PDEATHSIG = 1
STAMP_EVERY_S = 5.0


class GradingProcessDied(RuntimeError):
    """The grading process ended while grading (its message is one sentence for the result's errors)."""


def _die_with_parent() -> None:
    """preexec_fn: SIGKILL this child when the thread that started it (a long-lived one) exits."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class GradingProcess:
    """One persistent ``python -m mlplab.grade_server`` (trusted; see :mod:`mlplab.grade_server`).

    Started from the sandbox module's long-lived spawner thread with PR_SET_PDEATHSIG, so it dies with
    the process that uses it (a stopped service leaves no grading behind). :meth:`run` grades one
    submission; a timeout kills the process (and with it the submission's sandbox), the next request
    starts a new one.
    """

    def __init__(self, env: dict[str, str]) -> None:
        from mlplab.sandbox.host.protocol import spawn

        self.env = env
        self.served = 0
        self.stamp = _code_stamp(env.get("MLPLAB_COURSE_ROOT"))
        self.stamped_at = time.monotonic()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.proc = spawn(lambda: subprocess.Popen(
            [sys.executable, "-m", "mlplab.grade_server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, env=env, preexec_fn=_die_with_parent))
        self._buffer = b""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def usable(self, env: dict[str, str]) -> bool:
        """Whether this process may grade the next submission with ``env`` (same environment, same
        graders and reference on disk, alive, not at its submission limit). The files on disk are looked
        at no more than once every :data:`STAMP_EVERY_S` seconds."""
        if self.proc.poll() is not None or env != self.env or self.served >= MAX_SUBMISSIONS_PER_PROCESS:
            return False
        if time.monotonic() - self.stamped_at > STAMP_EVERY_S:
            self.stamped_at = time.monotonic()
            return _code_stamp(env.get("MLPLAB_COURSE_ROOT")) == self.stamp
        return True

    def run(self, argv: list[str], timeout: float) -> tuple[int, str, str]:
        """``(exit code, stdout, stderr)`` of ``mlplab *argv`` run in this process."""
        self.served += 1
        try:
            self.proc.stdin.write(json.dumps({"argv": argv}).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            raise GradingProcessDied(self._death()) from None
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            ready = select.select([fd], [], [], max(0.0, left))[0] if left > 0 else []
            if not ready:
                self.close(kill=True)
                raise subprocess.TimeoutExpired(argv, timeout)
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise GradingProcessDied(self._death())
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        reply = json.loads(line)
        return int(reply["code"]), str(reply["stdout"]), str(reply["stderr"])

    def _death(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        said = ""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0)
            lines = [ln for ln in self._stderr.read()[-4000:].decode(errors="replace").splitlines() if ln.strip()]
            said = lines[-1].strip()[:300] if lines else ""
        self.close()
        return f"the grading process ended while grading (exit {self.proc.returncode})" + (f": {said}" if said else "")

    def close(self, kill: bool = False) -> None:
        """End the process (closing its input ends it; killed at once with ``kill``, else if it does not go
        within 2 s)."""
        if kill:
            self.proc.kill()
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        with contextlib.suppress(OSError):
            self.proc.stdout.close()
        with contextlib.suppress(OSError):
            self._stderr.close()


_processes: dict[str, GradingProcess] = {}
_processes_lock = threading.Lock()


def _code_stamp(root: str | None) -> tuple:
    """Names, sizes and modification times of the graders, the reference and the toolkit: a process
    that imported them is replaced when any of them changes on disk (a course edited under the service)."""
    from mlplab.coursedir import course_root

    try:
        base = Path(root) if root else course_root()
    except Exception:  # noqa: BLE001 - no course: nothing to compare
        return ()
    stamp = []
    for folder in (base / "grader_tests", base / "source", Path(__file__).resolve().parent):
        for path in sorted(folder.rglob("*.py")) + sorted(folder.rglob("*.ipynb")):
            if "__pycache__" not in path.parts and ".ipynb_checkpoints" not in path.parts:
                with contextlib.suppress(OSError):
                    info = path.stat()
                    stamp.append((str(path), info.st_size, info.st_mtime_ns))
    return tuple(stamp)


def grading_process(slot: int, env: dict[str, str]) -> GradingProcess:
    """The persistent grading process of job slot ``slot`` (a new one when the last cannot serve ``env``)."""
    key = str(slot)
    with _processes_lock:
        current = _processes.get(key)
        if current is not None and current.usable(env):
            return current
        if current is not None:
            current.close()
        _processes[key] = GradingProcess(env)
        return _processes[key]


def current_grading_process(slot: int) -> GradingProcess | None:
    """The persistent grading process of job slot ``slot``, if one was started."""
    with _processes_lock:
        return _processes.get(str(slot))


def close_grading_processes() -> None:
    """End every persistent grading process of this process (``mlplab autograde`` does at the end)."""
    with _processes_lock:
        processes = list(_processes.values())
        _processes.clear()
    for process in processes:
        process.close()


def _failed(job: Job, message: str, started: float, root: str | None = None) -> dict:
    return _record(job, GradeResult.unable(tasks(Path(root) if root else None).values(), message), started)


# -- running jobs -------------------------------------------------------------


def run_local(jobs: list[Job], workers: int, root: Path, slot_base: int = 0) -> Iterator[dict]:
    """Run jobs on a local thread pool (each job is its own process); slots from ``slot_base`` on
    (``c.Autograde.slot_base``: separate uids for concurrent autograde runs)."""
    slots: queue.Queue[int] = queue.Queue()
    base = slot_base
    for slot in range(max(1, workers)):
        slots.put(base + slot)

    def run(job: Job) -> dict:
        slot = slots.get()
        try:
            return grade_job(job, slot, str(root))
        finally:
            slots.put(slot)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(run, job) for job in jobs]
        for future in as_completed(futures):
            yield future.result()


def _dask_grade(job: Job, root: str) -> dict:
    from distributed import get_worker

    try:
        name = get_worker().name
        slot = int(name) if str(name).isdigit() else abs(hash(name)) % 100
    except ValueError:
        slot = 0
    return grade_job(job, 100 + slot, root)




class SchedulerUnreachable(Exception):
    """The dask scheduler did not answer; the message is one sentence."""


def run_dask(jobs: list[Job], workers: int, root: Path, scheduler: str | None = None,
             timeout_s: float = Autograde.class_traits()["scheduler_timeout_s"].default_value) -> Iterator[dict]:
    """Run jobs on a dask cluster (a LocalCluster of ``workers`` processes unless ``scheduler`` is given).

    Connects at once (before any result is awaited); nothing connects when there are no jobs; an
    unreachable scheduler raises :class:`SchedulerUnreachable` within ``timeout_s`` seconds
    (``c.Autograde.scheduler_timeout_s``).
    """
    from mlplab.extras import require

    require("the dask backend", "dask", "distributed")
    if not jobs:
        return iter(())
    from distributed import Client, LocalCluster

    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout=timeout_s)
        except (OSError, TimeoutError) as exc:
            raise SchedulerUnreachable(
                f"the dask scheduler at {scheduler} did not answer within {timeout_s:g} s "
                f"({type(exc).__name__}); start it (dask scheduler) or check the address"
            ) from None
    else:
        cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    return _dask_results(client, cluster, jobs, root)


def _dask_results(client, cluster, jobs: list[Job], root: Path) -> Iterator[dict]:
    from distributed import as_completed as dask_completed

    try:
        futures = [client.submit(_dask_grade, job, str(root), pure=False) for job in jobs]
        for future in dask_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# -- the whole command ----------------------------------------------------------


def find_submissions(root: Path, students: Iterable[str] | None = None) -> list[tuple[str, Path]]:
    """``(student_id, folder)`` of every ``submitted/<student>/mlp`` (optionally filtered)."""
    wanted = set(students or [])
    found = [(student, folder) for student, folder in CourseDir(root).submissions() if not wanted or student in wanted]
    missing = wanted - {s for s, _ in found}
    if missing:
        raise FileNotFoundError(f"no submission for {sorted(missing)} in submitted/*/{ASSIGNMENT}")
    return found


def result_path(root: Path, student: str) -> Path:
    return CourseDir(root).state / f"{student}.json"


def _load_cached(path: Path, submission: str, graders: str) -> dict | None:
    """The cached record when it belongs to this submission and these graders, else None."""
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or "result" not in saved:
        return None
    if saved.get("submission_hash") != submission or saved.get("graders_hash") != graders:
        return None
    return saved


def _save_record(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(path)


class AutogradeRun(dict):
    """What one ``mlplab autograde`` run did: the result record of every student (``run["ada"]``: the
    ``mlplab grade --json`` object plus ``student`` and ``seconds``), and which students were ``graded`` now,
    taken from the ``cached`` results, and had gradebook rows ``changed``."""

    def __init__(self, records=(), *, graded: list[str], cached: list[str], changed: list[str]) -> None:
        super().__init__(records)
        self.graded, self.cached, self.changed = graded, cached, changed


def autograde(
    root: Path | None = None,
    students: Iterable[str] | None = None,
    jobs: int = 2,
    backend: str = "local",
    scheduler: str | None = None,
    force: bool = False,
    unsafe: bool = False,
    db_url: str | None = None,
    progress: bool = True,
    settings: Settings | None = None,
    job_env: dict[str, str] | None = None,
) -> AutogradeRun:
    """Grade every submission and write the gradebook; returns the run (:class:`AutogradeRun`: results by student).

    The gradebook is checked first (:class:`mlplab.course.gradebook.GradebookNotReady` when it cannot take
    results: nothing is graded or written). A result is cached as done only once the gradebook holds it;
    re-runs change only what differs (hand-grading stays).
    """
    from tqdm import tqdm

    from mlplab.course.gradebook import Writer

    if backend == "dask":
        from mlplab.extras import require

        require("mlplab autograde --backend dask", "dask", "distributed")
    root = (root or course_root()).resolve()
    settings = settings or load_settings(root)
    env = tuple(sorted({**settings.environ(), **(job_env or {})}.items()))
    submissions = find_submissions(root, students)
    stamp = content_hash(root, extra=settings.grade_inputs())
    results: dict[str, dict] = {}
    records: dict[str, dict] = {}
    todo: list[Job] = []
    hashes: dict[str, str] = {}
    for student, folder in submissions:
        hashes[student] = submission_hash(folder)
        saved = None if force else _load_cached(result_path(root, student), hashes[student], stamp)
        if saved is not None:
            results[student] = saved["result"]
            records[student] = saved
        else:
            todo.append(Job(student, str(folder), unsafe, env, settings.autograde.job_timeout_s))

    writer = Writer(root, db_url=db_url)  # refuses a gradebook that cannot take results, before any grading
    changed: list[str] = []

    def record(student: str, result: dict, cached: dict | None) -> None:
        rec = cached or {"submission_hash": hashes[student], "graders_hash": stamp, "result": result}
        notebooks_done = bool(rec.get("written")) and CourseDir(root).autograded(student).is_dir()
        try:
            if writer.write(student, result, notebooks=not notebooks_done):
                changed.append(student)
        except Exception as exc:  # noqa: BLE001 - one student's failed write never stops the batch
            rec["written"] = False
            _save_record(result_path(root, student), rec)  # graded, but not done: the next run writes it
            note = f"gradebook write failed, will be retried by the next run ({type(exc).__name__}: {exc})"
            results[student] = dict(result, errors=[*result.get("errors", []), note])
            return
        if not rec.get("written") or cached is None:
            rec["written"] = True
            _save_record(result_path(root, student), rec)

    try:
        for student, result in results.items():
            record(student, result, records[student])
        if backend == "dask":
            runner = run_dask(todo, jobs, root, scheduler, settings.autograde.scheduler_timeout_s)
        else:
            runner = run_local(todo, jobs, root, settings.autograde.slot_base)
        bar = tqdm(total=len(todo), desc="autograde", unit="submission", disable=not progress, file=sys.stderr)
        for result in runner:
            student = result["student"]
            results[student] = result
            record(student, result, None)
            bar.update(1)
        bar.close()
        for student in writer.refresh_penalties():  # hand-grading since the last run changes totals
            if student not in changed:
                changed.append(student)
    finally:
        writer.close()
        close_grading_processes()
    return AutogradeRun(
        sorted(results.items()),
        graded=sorted(j.student for j in todo),
        cached=sorted(records),
        changed=sorted(changed),
    )


def class_table(results: dict[str, dict], summaries: dict[str, dict] | None = None) -> str:
    """A plain-text grade table: student, score (late penalty applied), max (autograded + manual points),
    and notes: pending manual grading, late penalty, grading errors, each note whole on its own line.

    ``summaries``: :func:`mlplab.course.gradebook.student_summaries` (else only autograded points show).
    """
    summaries = summaries or {}
    lines = [f"{'student':<20}{'score':>9}{'max':>7}  notes"]
    for student, result in results.items():
        info = summaries.get(student)
        notes: list[str] = []
        if info is None:
            score, maximum = result["score"], result["max_score"]
        else:
            score, maximum = info["score"], info["max_score"]
            if info["manual_pending"]:
                notes.append(
                    f"manual grading pending: {info['manual_pending']} answer(s), "
                    f"{info['manual_pending_points']:g} of {info['manual_max']:g} manual points"
                )
            if info["penalty"] > 0:
                notes.append(f"late penalty {info['penalty']:.2f} (due {info['duedate']})")
        notes.extend(result.get("errors", []))
        first = notes[0] if notes else ""
        lines.append(f"{student:<20}{score:>9.2f}{maximum:>7.1f}  {first}".rstrip())
        lines.extend(f"{'':<38}{note}" for note in notes[1:])
    return "\n".join(lines)
