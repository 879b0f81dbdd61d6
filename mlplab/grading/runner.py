"""Run the hidden graders (``grader_tests/``) against one submission.

The graders are a pytest suite. This module runs it *in the trusted grading
process* with a plugin that hands each test a ``student`` handle (see
:mod:`mlplab.sandbox.student`) and records, per task, how many tests passed and which
teaching messages the failures produced. Student code never runs here: with
:class:`RemoteProvider` it runs in sandboxed workers, with
:class:`LocalProvider` (stock ``nbgrader autograde``) in the student's kernel.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mlplab.config import load as load_settings
from mlplab.config import scoped_environ
from mlplab.coursedir import CourseDir, Task, course_root, tasks, use_graders
from mlplab.grading.reference import units_defining
from mlplab.grading.result import GradeResult, TaskResult
from mlplab.notebooks import CodeUnit, NotebookError, grading_code, read_cells
from mlplab.sandbox.host.launch import SandboxConfig, worker_command
from mlplab.sandbox.student import Student, StudentCrash, StudentError, StudentTimeout

log = logging.getLogger(__name__)
MAX_MESSAGES_PER_TASK = 8
TASK_MARKER = re.compile(r"""mark\.task\(\s*["']([^"']+)["']""")
MAX_MESSAGE_CHARS = 400
TRACEBACK_STYLE = "value"  # pytest's failure reports: the exception's text, no source (see GradingPlugin)
UNUSED_PYTEST_PLUGINS = ("cacheprovider", "terminal", "logging", "unraisableexception", "threadexception",
                         "junitxml", "doctest", "pastebin", "stepwise", "faulthandler")


@dataclass
class TaskTally:
    """The checks of one task counted while its graders run (:meth:`result` is the typed outcome)."""

    task: Task
    passed: int = 0
    failed: int = 0
    guards_passed: int = 0  # side-effect checks passed; credited only with a correctness check
    messages: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def settle(self) -> None:
        """Credit passed guard checks only if some correctness check passed too."""
        if self.guards_passed and self.passed == 0:
            self.failed += self.guards_passed
            self.messages.append(
                f"{self.task.id}: side-effect checks count only once the function computes correct results"
            )
        else:
            self.passed += self.guards_passed
        self.guards_passed = 0

    @property
    def score(self) -> float:
        total = self.passed + self.failed
        return round(self.task.points * self.passed / total, 4) if total else 0.0

    def result(self) -> TaskResult:
        return TaskResult(self.score, float(self.task.points), self.passed, self.failed, tuple(self.messages))


def failure_message(exc: BaseException) -> str:
    """The student-facing text for a failed test (never grader source or values)."""
    kinds = {cls.__name__ for cls in type(exc).__mro__}
    if "GradeFailure" in kinds:
        text = str(exc)
    elif isinstance(exc, (StudentTimeout, StudentCrash)):
        text = exc.message
    elif isinstance(exc, StudentError):
        if exc.kind == "NotImplementedError":
            text = "not implemented yet (the cell still raises NotImplementedError)"
        elif exc.kind == "NameError" and "is not defined" in exc.message and not exc.where:
            # the grader asked for a function or class the notebook does not define
            text = f"{exc.message}: keep the function and class names of the assignment"
        elif exc.kind == "NameError":
            text = (
                f"your code raised NameError: {exc.message} ({exc.where}): when grading, cells other than "
                "the solution cells contribute only imports, functions, classes and constant assignments "
                "(statements that call functions, such as training or plotting, are skipped): define the "
                "name in one of those, or inside your function"
            )
        else:
            text = f"your code raised {exc.kind}: {exc.message}"
            if exc.where:
                text += f" ({exc.where})"
    elif isinstance(exc, (TypeError, ValueError, AttributeError, IndexError, KeyError)):
        text = f"your code returned something the grader could not check ({type(exc).__name__})"
    else:
        text = f"internal grader error ({type(exc).__name__}); please tell your instructor"
    text = " ".join(text.split())
    return text[:MAX_MESSAGE_CHARS]


class GradingPlugin:
    """pytest plugin: provides students, filters tasks, collects results."""

    __name__ = "mlplab-grading"  # the name pluggy registers the plugin under

    def __init__(
        self,
        student_factory: Callable[[str, tuple[str, ...]], Student],
        task_table: dict[str, Task],
        wanted: set[str],
        seed: int = 0,
        task_timeout_s: float = 60.0,
        submission_timeout_s: float = 600.0,
        debug: bool = False,
        submission_dir: Path | None = None,
    ) -> None:
        self.student_factory = student_factory
        # the folder of the submitted notebooks: graders of tasks that grade a submitted file (trained
        # weights, grader_tests/conftest.py SUBMITTED_FILES) read it there, as untrusted data
        self.submission_dir = submission_dir
        self.debug = debug  # c.Autograde.grader_debug: grader tracebacks on stderr
        self.task_table = task_table
        self.wanted = wanted
        self.seed = seed
        self.task_timeout_s = task_timeout_s
        self.submission_timeout_s = submission_timeout_s
        self.results: dict[str, TaskTally] = {t: TaskTally(task_table[t]) for t in task_table if t in wanted}
        self._students: dict[tuple[str, tuple[str, ...]], Student] = {}
        self.timed_out: set[str] = set()
        self._started = time.monotonic()
        # per test (node id): (task id, passed, message or None); filled for every test
        self.outcomes: dict[str, tuple[str, bool, str | None]] = {}
        # per test: [(what, measured, tolerance), ...] from grader_tests.checks.record (only when recording)
        self.record_measurements = False
        self.measurements: dict[str, list[tuple[str, float, float]]] = {}

    # -- used by grader_tests/conftest.py -------------------------------------
    def notebook_of(self, task_id: str) -> str:
        return self.task_table[task_id].notebook

    def student_for(self, task_id: str, reference_names: tuple[str, ...] = ()) -> Student:
        result = self.results.get(task_id)
        if task_id in self.timed_out:
            raise StudentTimeout("Timeout", "skipped: an earlier check of this task ran out of time")
        if result is not None and result.seconds > self.task_timeout_s:
            raise StudentTimeout("Timeout", f"this task used its {self.task_timeout_s:.0f} s time cap")
        if time.monotonic() - self._started > self.submission_timeout_s:
            raise StudentTimeout("Timeout", f"the submission used its {self.submission_timeout_s:.0f} s time cap")
        key = (self.notebook_of(task_id), tuple(sorted(reference_names)))
        if key not in self._students:
            self._students[key] = self.student_factory(*key)
        return self._students[key]

    def students(self) -> dict[tuple[str, tuple[str, ...]], Student]:
        """The students made so far, by (notebook, reference parts injected)."""
        return dict(self._students)

    def close(self) -> None:
        for student in self._students.values():
            close = getattr(student, "close", None)
            if close:
                close()
        self._students.clear()

    # -- pytest hooks -----------------------------------------------------------
    def pytest_configure(self, config: pytest.Config) -> None:
        """Report failures in pytest's cheapest traceback style, ``value`` (the exception's text only).

        Nobody reads pytest's own failure reports here: the teaching messages come from the exception itself
        (:func:`failure_message`), and ``c.Autograde.grader_debug`` prints its own traceback. pytest's
        default (``long``) reads and parses the source of every frame of every failure: about 0.1 s of CPU
        per failed check, most of the grading time of a submission with a few wrong functions.
        ``value`` is a style pytest's ``--tb`` option does not offer, so it is set on the parsed options.
        """
        config.option.tbstyle = TRACEBACK_STYLE

    def pytest_ignore_collect(self, collection_path: Path, config: pytest.Config) -> bool | None:
        """Skip grader files none of whose tasks are wanted (so grading 01 never imports torch)."""
        if collection_path.suffix == ".py" and collection_path.name.startswith("test_"):
            ids = set(TASK_MARKER.findall(collection_path.read_text(errors="replace")))
            if ids and not ids & self.wanted:
                return True
        return None

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        keep, drop = [], []
        for item in items:
            marker = item.get_closest_marker("task")
            task_id = str(marker.args[0]) if marker and marker.args else None
            (keep if task_id in self.wanted else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
        # notebook order: the heavy workers of later notebooks (torch) finish warming up meanwhile
        order = {stem: i for i, stem in enumerate(sorted({t.notebook for t in self.task_table.values()}))}

        def position(item: pytest.Item) -> int:
            marker = item.get_closest_marker("task")
            task = self.task_table.get(str(marker.args[0])) if marker and marker.args else None
            return order.get(task.notebook, len(order)) if task else len(order)

        items[:] = sorted(keep, key=position)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        checks = sys.modules.get("grader_tests.checks") if self.record_measurements else None
        if checks is not None and hasattr(checks, "start_recording"):
            checks.start_recording()
        try:
            yield
        finally:
            if checks is not None and hasattr(checks, "stop_recording"):
                self.measurements[item.nodeid] = checks.stop_recording()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        report = outcome.get_result()
        marker = item.get_closest_marker("task")
        task_id = str(marker.args[0]) if marker and marker.args else None
        result = self.results.get(task_id)
        if result is None:
            return
        result.seconds += call.duration
        if call.when == "call" or (call.when == "setup" and report.failed):
            if report.passed and item.get_closest_marker("guard") is not None:
                result.guards_passed += 1
            elif report.passed:
                result.passed += 1
                self.outcomes[item.nodeid] = (task_id, True, None)
            elif report.failed or report.skipped:
                result.failed += 1
                exc = call.excinfo.value if call.excinfo is not None else None
                if isinstance(exc, StudentTimeout):
                    self.timed_out.add(task_id)
                message = failure_message(exc) if exc is not None else "this check did not run"
                if self.debug and exc is not None:
                    print(f"--- {item.nodeid}\n{call.excinfo.getrepr(style='short')}", file=sys.__stderr__)
                text = f"{task_id}: {message}"
                self.outcomes[item.nodeid] = (task_id, False, text)
                if text not in result.messages and len(result.messages) < MAX_MESSAGES_PER_TASK:
                    result.messages.append(text)


def reference_parts(root: Path) -> dict[str, tuple[str, ...]]:
    """The graders' map task -> names taken from the reference (grader_tests/conftest.py)."""
    use_graders(root)
    from grader_tests.conftest import REFERENCE_PARTS

    return dict(REFERENCE_PARTS)


def run_graders(plugin: GradingPlugin, root: Path | None = None) -> None:
    """Run the grader suite with ``plugin`` (output of pytest itself is discarded)."""
    root = root or course_root()
    graders = use_graders(root)
    args = [str(graders), "-c", str(graders / "pytest.ini"), "--rootdir", str(root), "--capture=no"]
    # the graders check with `expect`, never bare asserts: no assertion rewriting; and none of pytest's
    # reporting, caching, log capture or end-of-run garbage hunting (a second of a 10 s budget)
    args.append("--assert=plain")
    for name in UNUSED_PYTEST_PLUGINS:
        args += ["-p", f"no:{name}"]
    sink = io.StringIO()
    # no third-party plugins (xdist, anyio...) in grading
    with scoped_environ({"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}), contextlib.redirect_stdout(sink), \
            contextlib.redirect_stderr(sink):
        code = pytest.main(args, plugins=[plugin])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise RuntimeError(f"the grader suite could not run (pytest exit {int(code)}): {sink.getvalue()[-2000:]}")
    for result in plugin.results.values():
        result.settle()


# -- grading a submission on disk -----------------------------------------------


@dataclass
class Submission:
    """The notebooks found in a submitted path, keyed by source notebook stem."""

    notebooks: dict[str, Path]
    errors: list[str]


def find_notebooks(path: Path, task_table: dict[str, Task]) -> Submission:
    """Match submitted notebooks to the assignment's notebooks (by name, else by grade ids)."""
    stems = sorted({t.notebook for t in task_table.values()})
    ids_by_stem = {s: {t.id for t in task_table.values() if t.notebook == s} for s in stems}
    errors: list[str] = []
    found: dict[str, Path] = {}
    if path.is_file():
        candidates = [path]
    elif path.is_dir():
        candidates = sorted(p for p in path.glob("*.ipynb") if p.is_file())
    else:
        raise FileNotFoundError(f"{path} does not exist")
    leftovers = []
    for nb in candidates:
        if nb.stem in ids_by_stem and nb.stem not in found:
            found[nb.stem] = nb
        else:
            leftovers.append(nb)
    for nb in leftovers:
        try:
            ids = {c.grade_id for c in read_cells(nb) if c.grade_id}
        except NotebookError:
            ids = set()
        match = [s for s in stems if s not in found and ids & ids_by_stem[s]]
        if match:
            found[match[0]] = nb
            errors.append(f"{nb.name} was graded as {match[0]}.ipynb (please keep the original file names)")
        elif path.is_dir():
            errors.append(f"{nb.name} is not part of the assignment and was ignored")
    if path.is_dir():
        for stem in stems:
            if stem not in found:
                errors.append(f"{stem}.ipynb is missing from the submission")
    return Submission(found, errors)


class RemoteProvider:
    """Builds sandboxed students for the notebooks of one submission.

    All of them are workers forked from the submission's sandboxes (see
    :class:`mlplab.sandbox.host.pool.Forkserver`), which import the heavy libraries once.
    """

    def __init__(self, submission: Submission, config: SandboxConfig, root: Path) -> None:
        self.submission = submission
        self.config = config
        self.root = root
        self.notes: list[str] = []
        self._skipped: dict[str, set[str]] = {}
        self._units: dict[str, list[CodeUnit] | NotebookError] = {}
        self._forkserver = None
        self._lock = threading.Lock()

    def forkserver(self):
        """The submission's workers' source (created on first use)."""
        from mlplab.sandbox.host.pool import Forkserver

        with self._lock:
            if self._forkserver is None:
                self._forkserver = Forkserver(self.config, light=self.light_modules())
            return self._forkserver

    def light_modules(self) -> list[str]:
        """The libraries and course helpers the submitted notebooks that do not use PyTorch import (their
        workers share one zygote that imported all of them)."""
        from mlplab.sandbox.host.pool import zygote_modules

        found: list[str] = []
        for stem in sorted(self.submission.notebooks):
            with contextlib.suppress(StudentError):
                modules = zygote_modules(self.units(stem), self.config.labutils_dir)
                if not any(m.startswith("torch") for m in modules):
                    found += [m for m in modules if m not in found]
        return found

    def start_error(self):
        """The SandboxStartError of a sandbox that could not start at all, if any."""
        with self._lock:
            return self._forkserver.start_error if self._forkserver is not None else None

    def close(self) -> None:
        with self._lock:
            if self._forkserver is not None:
                self._forkserver.close()
                self._forkserver = None

    def units(self, stem: str) -> list[CodeUnit]:
        if stem not in self._units:
            path = self.submission.notebooks.get(stem)
            if path is None:
                self._units[stem] = NotebookError(f"{stem}.ipynb is missing from the submission")
            else:
                try:
                    self._units[stem] = grading_code(read_cells(path), CourseDir(self.root).labutils)
                except NotebookError as exc:
                    self._units[stem] = exc
        units = self._units[stem]
        if isinstance(units, NotebookError):
            raise StudentError("NotebookError", str(units))
        return units

    def __call__(self, stem: str, reference_names: tuple[str, ...]) -> Student:
        from mlplab.sandbox.host.remote_student import RemoteStudent

        units = self.units(stem)
        if reference_names:
            units = units + units_defining(reference_names, self.root)
        return RemoteStudent(
            units,
            self.config,
            notes=self.notes,
            skipped=self._skipped.setdefault(stem, set()),
            forkserver=self.forkserver(),
        )


def _import_in_background(stems: list[str], root: Path) -> None:
    """Import the heavy libraries the graders of the submitted notebooks ``stems`` need (PyTorch...) on a thread.

    The import is trusted and would otherwise run on the critical path (collecting the graders, the
    first reference optimizer); on a thread it overlaps with the waits for the workers. Python's
    per-module import locks make the graders' own ``import torch`` wait for it, never run it twice.
    """
    from mlplab.grading.reference import notebook_units
    from mlplab.sandbox.host.pool import preload_modules

    units: list[CodeUnit] = []
    for stem in stems:
        with contextlib.suppress(KeyError):
            units += notebook_units(stem, root)
    modules = [m for m in preload_modules(units) if m not in sys.modules]

    def load() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the graders' own import raises it again where it matters
                log.warning("preloading %s for the graders failed", name, exc_info=True)

    if modules:
        threading.Thread(target=load, name="mlplab-preload", daemon=True).start()


def grade_path(
    path: str | Path,
    config: SandboxConfig | None = None,
    seed: int | None = None,
    root: Path | None = None,
) -> GradeResult:
    """Grade a notebook or a folder of notebooks (``.to_json()`` is the ``mlplab grade --json`` object)."""
    root = (root or course_root()).resolve()
    path = Path(path)
    task_table = tasks(root)
    submission = find_notebooks(path, task_table)
    if path.is_file() and not submission.notebooks:
        raise NotebookError(f"{path.name} is not one of the assignment's notebooks")
    wanted = {t.id for t in task_table.values() if t.notebook in submission.notebooks or path.is_dir()}
    if config is None:
        config = SandboxConfig(labutils_dir=CourseDir(root).release_labutils)
    if not config.unsafe:
        worker_command(config)  # raises SandboxUnavailable with the explanation (no bwrap, a path, a limit)
    options = load_settings(None).autograde  # the environment's; `mlplab grade` passes the course's seed
    if seed is None:
        seed = options.grader_seed
    provider = RemoteProvider(submission, config, root)
    errors = list(submission.errors)
    for stem in sorted(submission.notebooks):
        try:
            provider.units(stem)
        except StudentError as exc:
            errors.append(exc.message)
    # tasks of notebooks the submission lacks are answered here, without collecting their graders (a
    # submission without notebook 05 never imports PyTorch just to hear that 05 is missing)
    absent = {t for t in wanted if task_table[t].notebook not in submission.notebooks}
    plugin = GradingPlugin(
        provider,
        task_table,
        wanted - absent,
        seed=seed,
        task_timeout_s=config.limits.task_timeout_s,
        submission_timeout_s=config.limits.submission_timeout_s,
        debug=options.grader_debug,
        submission_dir=path.resolve() if path.is_dir() else path.resolve().parent,
    )
    for task_id in absent:
        result = plugin.results[task_id] = TaskTally(task_table[task_id], failed=1)
        result.messages.append(f"{task_id}: {task_table[task_id].notebook}.ipynb is missing from the submission")
    # start every worker this submission needs now: loading (imports, torch) overlaps with grading
    _import_in_background(sorted(submission.notebooks), root)
    parts = reference_parts(root)
    for task_id in sorted(wanted):
        stem = task_table[task_id].notebook
        if stem in submission.notebooks:
            with contextlib.suppress(StudentError):
                student = plugin.student_for(task_id, parts.get(task_id, ()))
                student.warm_up()
    try:
        run_graders(plugin, root)
        for key, student in plugin.students().items():
            if key[1]:
                continue
            with contextlib.suppress(StudentError):
                for error in student.load_errors():
                    text = f"{key[0]}: {error}"
                    if text not in errors:
                        errors.append(text)
    finally:
        plugin.close()
        start_error = provider.start_error()
        provider.close()
    if start_error is not None:
        raise start_error  # no sandbox could start: every task would read "internal grader error"
    if options.grader_debug:
        for task_id, res in plugin.results.items():
            print(f"[timing] {task_id}: {res.seconds:.2f} s", file=sys.__stderr__)
    errors.extend(note for note in provider.notes if note not in errors)
    ordered = [t for t in task_table if t in plugin.results]
    return GradeResult({t: plugin.results[t].result() for t in ordered}, tuple(errors))
