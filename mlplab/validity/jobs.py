"""Validation jobs: grade one notebook of the reference (trusted code, in-process), with at most one cell
replaced, in worker processes; optionally traced (which student names each task's graders touch)."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

from mlplab.config import scoped_environ
from mlplab.coursedir import CourseDir, course_root, source_dir, tasks, use_graders
from mlplab.notebooks import grading_code, read_cells


@dataclass(frozen=True)
class Job:
    """Grade one notebook of the reference, with at most one cell replaced."""

    kind: str  # "seed", "mutant" or "variant"
    name: str  # the change's name, or "seed-<n>"
    stem: str  # notebook stem
    seed: int
    wanted: tuple[str, ...]  # task ids to grade
    edits: tuple[tuple[str, str], ...] = ()  # (cell grade_id, replacement source)
    trace: bool = False  # record which student names each task's graders touch
    cost: float = 1.0  # for scheduling (bigger first)


@dataclass
class JobResult:
    job: Job
    tasks: dict[str, dict]
    outcomes: dict[str, tuple[str, bool, str | None]]
    measurements: dict[str, list[tuple[str, float, float]]]
    durations: dict[str, float]
    accessed: dict[str, list[str]] = field(default_factory=dict)
    load_errors: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


def _tracing_student(inner: Any, plugin: Any, sink: dict[str, set[str]]) -> Any:
    from mlplab.sandbox.student import Student

    class TracingStudent(Student):
        def _op(self, op: str, **args: Any) -> Any:
            target = args.get("name") if op == "has" else args.get("target")
            if isinstance(target, str) and plugin.current_task:
                sink.setdefault(plugin.current_task, set()).add(target)
            return inner._op(op, **args)

        def load_errors(self) -> list[str]:
            return inner.load_errors()

    return TracingStudent()


def _plugin_class():
    import pytest

    from mlplab.grading.runner import GradingPlugin

    class ValidationPlugin(GradingPlugin):
        """GradingPlugin that also knows the running task and each test's duration."""

        current_task: str | None = None

        def pytest_runtest_setup(self, item: pytest.Item) -> None:
            marker = item.get_closest_marker("task")
            self.current_task = str(marker.args[0]) if marker and marker.args else None

        def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
            if report.when == "call":
                self.durations[report.nodeid] = report.duration

    return ValidationPlugin


def worker_init() -> None:
    root = course_root()
    use_graders(root)
    if str(source_dir(root)) not in sys.path:
        sys.path.insert(0, str(source_dir(root)))
    os.environ.setdefault("MLPLAB_QUICK", "1")
    warnings.simplefilter("ignore")


def run_job(job: Job) -> JobResult:
    """Grade ``job`` in this process (trusted code only)."""
    import numpy as np

    from mlplab.grading.reference import units_defining
    from mlplab.grading.runner import run_graders
    from mlplab.sandbox.student import LocalStudent, StudentError

    worker_init()
    started = time.monotonic()
    root = course_root()
    table = tasks(root)
    notebook = source_dir(root) / f"{job.stem}.ipynb"
    cells = read_cells(notebook)
    edits = dict(job.edits)
    if edits:
        cells = [dataclasses.replace(c, source=edits[c.grade_id]) if c.grade_id in edits else c for c in cells]
    units = grading_code(cells, CourseDir(root).labutils)
    accessed: dict[str, set[str]] = {}
    load_errors: list[str] = []
    plugin = _plugin_class()(None, table, set(job.wanted), seed=job.seed)  # type: ignore[arg-type]
    plugin.durations = {}
    plugin.record_measurements = True

    def factory(stem: str, reference_names: tuple[str, ...]):
        extra = units_defining(reference_names, root) if reference_names else []
        student = LocalStudent(units + extra)
        for error in student.session.load_errors:
            if error not in load_errors:
                load_errors.append(error)
        return _tracing_student(student, plugin, accessed) if job.trace else student

    plugin.student_factory = factory
    # the same global random state for every job, whatever ran before in this worker
    np.random.seed(0)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(0)
    error = None
    try:
        run_graders(plugin, root)
    except (RuntimeError, StudentError) as exc:
        error = str(exc)[:2000]
    finally:
        plugin.close()
    return JobResult(
        job=job,
        tasks={t: r.result().to_json() for t, r in plugin.results.items()},
        outcomes=dict(plugin.outcomes),
        measurements=dict(plugin.measurements),
        durations=dict(plugin.durations),
        accessed={t: sorted(v) for t, v in accessed.items()},
        load_errors=load_errors,
        error=error,
        seconds=time.monotonic() - started,
    )


def run_all(jobs: list[Job], processes: int, progress: Any = None) -> list[JobResult]:
    if not jobs:
        return []
    order = sorted(jobs, key=lambda j: -j.cost)
    results: list[JobResult] = []
    if processes <= 1:
        for job in order:
            results.append(run_job(job))
            if progress:
                progress(results[-1])
        return results
    # single-threaded BLAS in the workers: deterministic sums and no oversubscription
    env = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    with scoped_environ(env):
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(processes, initializer=worker_init, maxtasksperchild=None) as pool:
            for result in pool.imap_unordered(run_job, order, chunksize=1):
                results.append(result)
                if progress:
                    progress(result)
    return results
