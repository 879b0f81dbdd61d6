"""The mutation pipeline (``mlplab validate-graders --mutation``) and the freshness of docs/mutation-score.md.

A small real run (two cheap tasks of 01_layers, in-process) checks that mutants touch only the lines between
the solution markers, that a wrong answer is killed in its own task, that a mutant listed in
``grader_tests/mutation_equivalents.py`` is classified equivalent, and that the page has its documented columns.
"""

from __future__ import annotations

import pytest

import mlplab.coursedir as coursedir
from mlplab.coursedir import CourseDir, content_hash, course_root
from mlplab.validity.mutation import (
    INPUTS_RE,
    MUTATION_REPORT,
    inputs_hash,
    load_equivalents,
    mutation_cases,
    render_mutation,
    solution_lines,
    validate_mutation,
)

TASKS = {"affine_forward", "relu_forward"}
EQUIVALENT = "affine_forward_solution:NumberReplacer#2"  # reshape(..., -2) == reshape(..., -1)
KNOWN_BAD = "relu_forward_solution:NumberReplacer#0"  # np.maximum(x, 1): clips at 1 instead of 0


def test_solution_lines_are_only_those_between_the_markers():
    marked = "def f(x):\n    ### BEGIN SOLUTION\n    y = x + 1\n    return y\n    ### END SOLUTION\nz = 2 * 3\n"
    source, region = solution_lines(marked)
    assert source == "def f(x):\n    y = x + 1\n    return y\nz = 2 * 3\n"
    assert region == {2, 3}


def _reference_sources() -> dict[str, tuple[str, set[int]]]:
    course = CourseDir(course_root())
    return {
        grade_id: solution_lines(marked)
        for nb in course.source_notebooks()
        for grade_id, marked in course.solution_cells(nb.stem).items()
    }


def test_mutants_change_one_line_inside_the_solution_markers():
    references = _reference_sources()
    cases = mutation_cases(TASKS, limit=0)
    assert {c.task for c in cases} == TASKS
    assert len({c.source for c in cases}) == len(cases), "mutants must be distinct"
    for case in cases:
        source, region = references[case.cell]
        before, after = source.splitlines(), case.source.splitlines()
        assert len(before) == len(after), case.name
        changed = [i + 1 for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
        assert len(changed) == 1 and changed[0] in region, (case.name, changed, sorted(region))


def test_limit_caps_the_mutants_per_cell():
    cases = mutation_cases({"affine_forward"}, limit=2)
    assert len(cases) == 2
    assert {c.name for c in cases} < {c.name for c in mutation_cases({"affine_forward"}, limit=0)}


def test_listed_equivalent_is_in_the_course_file():
    assert EQUIVALENT in load_equivalents(course_root())


@pytest.mark.slow
def test_small_real_run_kills_classifies_and_renders():
    summary = validate_mutation(0, processes=1, tasks=TASKS)
    status = {r["name"]: r for r in summary["results"]}
    assert {r["task"] for r in summary["results"]} == TASKS
    assert status[KNOWN_BAD]["status"] == "killed", status[KNOWN_BAD]
    assert status[KNOWN_BAD]["other_tasks"] == []
    assert status[EQUIVALENT]["status"] == "equivalent"
    assert status[EQUIVALENT]["reason"]
    assert summary["scored"] == summary["mutants"] - sum(r["status"] == "equivalent" for r in summary["results"])
    assert summary["task_order"] == ["affine_forward", "relu_forward"]

    page = render_mutation(summary)
    assert "| task | mutants | killed | leaked | survived | equivalent | score |" in page
    assert "| mutant | task | mutated line | status |" in page
    assert "| mutant | mutated line | why it is equivalent |" in page
    assert f"| `{EQUIVALENT}` |" in page
    assert INPUTS_RE.search(page).group(1) == inputs_hash()
    rows = [line for line in page.splitlines() if line.startswith("| `affine_forward` |")]
    assert len(rows) == 1 and rows[0].count("|") == 8


def test_mutation_inputs_leave_out_the_toolkit(monkeypatch, tmp_path):
    before_inputs, before_all = inputs_hash(), content_hash()
    monkeypatch.setattr(coursedir, "TOOLKIT", tmp_path)  # as if the toolkit had changed completely
    assert content_hash() != before_all
    assert inputs_hash() == before_inputs


def test_mutation_inputs_cover_graders_and_reference(tmp_path):
    course = CourseDir(tmp_path)
    course.graders.mkdir(parents=True)
    course.source.mkdir(parents=True)
    (course.graders / "test_a.py").write_text("def test_a():\n    assert True\n")
    first = inputs_hash(tmp_path)
    (course.graders / "test_a.py").write_text("def test_a():\n    assert 1\n")
    second = inputs_hash(tmp_path)
    (course.source / "a.py").write_text("x = 1\n")
    assert len({first, second, inputs_hash(tmp_path)}) == 3


def test_mutation_score_page_is_fresh():
    page = (course_root() / MUTATION_REPORT).read_text()
    match = INPUTS_RE.search(page)
    assert match and match.group(1) == inputs_hash(), (
        "docs/mutation-score.md is stale: run `mlplab validate-graders --mutation`"
    )


def test_course_solution_cells_are_the_marked_code_answers():
    cells = CourseDir(course_root()).solution_cells("01_layers")
    assert "relu_forward_solution" in cells and "affine_forward_solution" in cells
    assert list(cells).index("affine_forward_solution") < list(cells).index("relu_forward_solution")
    assert all("### BEGIN SOLUTION" in source for source in cells.values())
