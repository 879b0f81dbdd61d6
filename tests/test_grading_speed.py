"""The grading process's cheap paths (issue 21, throughput): they save CPU without changing any grade."""

import textwrap

import pytest

from mlplab.coursedir import Task
from mlplab.grading.runner import TRACEBACK_STYLE, GradingPlugin

from .helpers.optional import submitted_file_tasks

FAILING_SUITE = textwrap.dedent(
    """
    class GradeFailure(AssertionError):
        pass

    def helper(value):
        data = list(range(value))
        raise GradeFailure("the teaching text")

    import pytest

    @pytest.mark.task("affine_forward")
    def test_fails():
        helper(3)
    """
)


class Reports:
    """Keeps the test-phase reports pytest made (the grading plugin itself never reads them)."""

    def __init__(self) -> None:
        self.reports = []

    def pytest_runtest_logreport(self, report) -> None:
        if report.when == "call":
            self.reports.append(report)


def test_failure_reports_hold_the_exception_text_only_not_the_source_of_every_frame(tmp_path):
    (tmp_path / "test_suite.py").write_text(FAILING_SUITE)
    task = Task("affine_forward", "01_layers", 2.0)
    plugin = GradingPlugin(lambda *_: None, task_table={task.id: task}, wanted={task.id})
    reports = Reports()
    code = pytest.main([str(tmp_path), "--rootdir", str(tmp_path), "-p", "no:cacheprovider", "-q",
                        "-W", "ignore::pytest.PytestUnknownMarkWarning"],
                       plugins=[plugin, reports])
    assert code == pytest.ExitCode.TESTS_FAILED
    assert TRACEBACK_STYLE == "value"
    [report] = reports.reports
    text = str(report.longrepr)
    assert "the teaching text" in text
    # the default ("long") style quotes the failing frames' source: `helper(3)`, `data = list(...)`
    assert "helper(3)" not in text and "list(range(value))" not in text, text
    # and the grade still carries the teaching message, from the exception itself
    tally = plugin.results[task.id]
    assert (tally.passed, tally.failed) == (0, 1)
    assert tally.messages == ["affine_forward: the teaching text"]


THROUGHPUT_STEMS = ("01_layers", "02_normalization", "03_fc_net", "04_optim_solver")
BUGGY = {
    "affine_backward_solution": "def affine_backward(dout, cache):\n    raise NotImplementedError\n",
    "batchnorm_forward_solution": "def batchnorm_forward(x, g, b, p):\n    return x, None\n",
}


@pytest.mark.needs_root
@pytest.mark.parametrize("kind", ["reference", "buggy"])
def test_grades_are_the_same_with_and_without_the_cheap_paths(kind, tmp_path, monkeypatch):
    """The cheap paths (value-style failure reports; course helpers imported in the zygote; matplotlib and
    IPython's package imported on first use) change no score, count or message of a submission of 01-04."""
    from mlplab.grading import runner
    from mlplab.grading.runner import grade_path
    from mlplab.sandbox.host import pool, remote_student
    from mlplab.sandbox.host.launch import SandboxConfig

    from .helpers.paths import RELEASE
    from .helpers.slots import slot
    from .helpers.submissions import build

    submission = build(tmp_path / "sub", stems=THROUGHPUT_STEMS, replace=BUGGY if kind == "buggy" else None)
    keys: list[tuple[str, ...]] = []
    new_worker = pool.Forkserver.new_worker

    def spy(self, modules=()):
        keys.append(pool.light_key(modules, self.light))
        return new_worker(self, modules)

    monkeypatch.setattr(pool.Forkserver, "new_worker", spy)

    def grade() -> dict:
        return grade_path(submission, config=SandboxConfig(labutils_dir=RELEASE / "labutils", slot=slot(5))).to_json()

    cheap = grade()
    assert keys and all("labutils" in key and "matplotlib" in key for key in keys), keys

    def libraries_only(units, provided):  # as before: each worker imports the helpers, matplotlib and IPython
        return [m for m in pool.preload_modules(units) if not m.startswith(("matplotlib", "IPython"))]

    monkeypatch.setattr(pool, "zygote_modules", libraries_only)
    monkeypatch.setattr(remote_student, "zygote_modules", libraries_only)
    monkeypatch.setattr(runner, "TRACEBACK_STYLE", "long")
    keys.clear()
    plain = grade()
    assert keys and not any("labutils" in key or "matplotlib" in key for key in keys), keys
    assert plain == cheap
    if kind == "buggy":
        assert cheap["tasks"]["affine_backward"]["score"] == 0 and cheap["tasks"]["batchnorm_forward"]["score"] == 0
        assert any("not implemented yet" in m for m in cheap["tasks"]["affine_backward"]["messages"])
    else:
        optional = submitted_file_tasks()  # fc_net_challenge: no npz in this submission, 0 with its message
        assert all(task["score"] == task["max_score"] for task_id, task in cheap["tasks"].items()
                   if task_id not in optional and not any("05_mlp_vs_cnn" in m for m in task["messages"])), cheap
