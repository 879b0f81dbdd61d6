"""The grading process's cheap paths (issue 21, throughput): they save CPU without changing any grade."""

import textwrap

import pytest

from mlplab.coursedir import Task
from mlplab.grading.runner import TRACEBACK_STYLE, GradingPlugin

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
