"""The test suite's own layout: helpers come from tests/helpers/, never from conftest.py or another test module."""

from __future__ import annotations

import re

from .helpers.paths import ROOT

IMPORT = re.compile(r"^\s*from\s+(tests)?\.(conftest|test_\w+)\s+import", re.M)


def test_tests_and_benchmarks_import_helpers_from_the_helpers_package():
    offenders = [
        f"{path.relative_to(ROOT)}: {m.group(0).strip()}"
        for folder in ("tests", "benchmarks")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for m in IMPORT.finditer(path.read_text())
    ]
    assert not offenders, "move shared helpers to tests/helpers/ (conftest.py holds fixtures only): " + "; ".join(
        offenders
    )
