"""Grader validity, measured (``mlplab validate-graders``).

One validation run (module fixture, in-process grading over 2 worker
processes) checks the bug catalogue (every bug loses points in its own task
and nowhere else, with a message naming the task), the correct variants (full
marks) and the reference on a few grader seeds. The committed catalogue
(docs/grader-catalogue.md, 50 seeds) must match a fresh render of the bug and
variant sections, and its input fingerprint must match the current graders,
reference and catalogue files, so a stale seed section is caught without
re-running 50 seeds here (``mlplab validate-graders --check`` does that).
"""

from __future__ import annotations

import pytest

from mlplab.course.tasks import tasks
from mlplab.validity.mutants import apply_to_source, load_all, solution_sources
from mlplab.validity.validate import (
    DEFAULT_SEEDS,
    FINGERPRINT_RE,
    catalogue_path,
    fingerprint,
    render,
    split_seed_section,
    validate,
)

from .conftest import ROOT, source_notebooks

TEST_SEEDS = 2  # the CLI default and the committed catalogue use DEFAULT_SEEDS (50)


@pytest.fixture(scope="session")
def summary() -> dict:
    return validate(seeds=TEST_SEEDS, processes=2, root=ROOT)


def test_every_patch_applies_exactly_once():
    references = {}
    for nb in source_notebooks():
        references.update(solution_sources(nb))
    for kind in ("mutants", "variants"):
        for change in load_all(kind, ROOT):
            assert change.cell in references, f"{kind}/{change.name}: no solution cell {change.cell}"
            assert change.task in tasks(ROOT), f"{kind}/{change.name}: unknown task {change.task}"
            new = apply_to_source(change, references[change.cell])  # raises unless each patch matches once
            assert new != references[change.cell], f"{kind}/{change.name} changes nothing"
            compile(new, change.name, "exec")
            for cell, source in change.extra:
                assert cell in references, f"{kind}/{change.name}: no solution cell {cell}"
                compile(source, change.name, "exec")


def test_catalogue_is_big_enough():
    mutants, variants = load_all("mutants", ROOT), load_all("variants", ROOT)
    assert len(mutants) >= 40
    assert len(variants) >= 12
    per_task = {t: sum(1 for m in mutants if m.task == t) for t in tasks(ROOT)}
    assert all(n >= 3 for n in per_task.values()), {t: n for t, n in per_task.items() if n < 3}
    assert all(m.doc for m in mutants + variants), "every bug and variant needs a docstring"


def test_every_bug_loses_points_in_its_own_task(summary):
    survivors = [m["name"] for m in summary["mutants"] if not m.get("killed")]
    assert not survivors, survivors


def test_no_bug_costs_points_in_another_task(summary):
    leaks = {m["name"]: sorted(m["collateral"]) for m in summary["mutants"] if m.get("collateral")}
    assert not leaks, leaks


def test_every_bug_message_names_its_task(summary):
    unnamed = [m["name"] for m in summary["mutants"] if m.get("killed") and not m.get("messages_name_task")]
    assert not unnamed, unnamed
    for m in summary["mutants"]:
        for message in m["own"]["messages"]:
            assert message.startswith(m["task"] + ": ")


def test_every_variant_gets_full_marks(summary):
    losers = {v["name"]: v.get("lost") or v.get("error") for v in summary["variants"] if not v.get("full_marks")}
    assert not losers, losers


def test_reference_gets_full_marks_on_every_seed(summary):
    assert summary["seeds"]["count"] == TEST_SEEDS
    assert summary["seeds"]["passed"] == TEST_SEEDS, summary["seeds"]["failures"]
    assert summary["ok"], summary["problems"]


def test_committed_catalogue_is_fresh(summary):
    path = catalogue_path(ROOT)
    assert path.is_file(), "docs/grader-catalogue.md is missing: run `mlplab validate-graders`"
    committed = path.read_text()
    match = FINGERPRINT_RE.search(committed)
    assert match and match.group(1) == fingerprint(ROOT), (
        "docs/grader-catalogue.md is stale (graders, reference or catalogue changed): run `mlplab validate-graders`"
    )
    fresh_top, _ = split_seed_section(render(summary, tasks(ROOT)))
    committed_top, committed_seeds = split_seed_section(committed)
    assert committed_top == fresh_top, "the bug/variant sections differ from a fresh run: run `mlplab validate-graders`"
    assert f"full marks on {DEFAULT_SEEDS} of {DEFAULT_SEEDS} grader seeds" in committed_seeds
