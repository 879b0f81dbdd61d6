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

from mlplab.coursedir import content_hash, submitted_file_tasks, tasks
from mlplab.validity.catalogue import FINGERPRINT_RE, catalogue_path, render, split_seed_section
from mlplab.validity.mutants import apply_to_source, load_all, solution_sources
from mlplab.validity.validate import DEFAULT_SEEDS, validate

from .helpers.paths import ROOT, source_notebooks

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
    # tasks that grade a submitted file run no code a bug could change: tests/test_fc_net_challenge.py feeds
    # them bad files instead
    code_tasks = [t for t in tasks(ROOT) if t not in submitted_file_tasks(ROOT)]
    per_task = {t: sum(1 for m in mutants if m.task == t) for t in code_tasks}
    assert all(n >= 3 for n in per_task.values()), {t: n for t, n in per_task.items() if n < 3}
    assert all(m.doc for m in mutants + variants), "every bug and variant needs a docstring"


@pytest.mark.slow
def test_every_bug_loses_points_in_its_own_task(summary):
    survivors = [m["name"] for m in summary["mutants"] if not m.get("killed")]
    assert not survivors, survivors


@pytest.mark.slow
def test_no_bug_costs_points_in_another_task(summary):
    leaks = {m["name"]: sorted(m["collateral"]) for m in summary["mutants"] if m.get("collateral")}
    assert not leaks, leaks


@pytest.mark.slow
def test_every_bug_message_names_its_task(summary):
    unnamed = [m["name"] for m in summary["mutants"] if m.get("killed") and not m.get("messages_name_task")]
    assert not unnamed, unnamed
    for m in summary["mutants"]:
        for message in m["own"]["messages"]:
            assert message.startswith(m["task"] + ": ")


@pytest.mark.slow
def test_every_variant_gets_full_marks(summary):
    losers = {v["name"]: v.get("lost") or v.get("error") for v in summary["variants"] if not v.get("full_marks")}
    assert not losers, losers


@pytest.mark.slow
def test_reference_gets_full_marks_on_every_seed(summary):
    assert summary["seeds"]["count"] == TEST_SEEDS
    assert summary["seeds"]["passed"] == TEST_SEEDS, summary["seeds"]["failures"]
    assert summary["ok"], summary["problems"]


@pytest.mark.slow
def test_committed_catalogue_is_fresh(summary):
    path = catalogue_path(ROOT)
    assert path.is_file(), "docs/grader-catalogue.md is missing: run `mlplab validate-graders`"
    committed = path.read_text()
    match = FINGERPRINT_RE.search(committed)
    assert match and match.group(1) == content_hash(ROOT), (
        "docs/grader-catalogue.md is stale (graders, reference or catalogue changed): run `mlplab validate-graders`"
    )
    fresh_top, _ = split_seed_section(render(summary, tasks(ROOT)))
    committed_top, committed_seeds = split_seed_section(committed)
    assert committed_top == fresh_top, "the bug/variant sections differ from a fresh run: run `mlplab validate-graders`"
    assert f"full marks on {DEFAULT_SEEDS} of {DEFAULT_SEEDS} grader seeds" in committed_seeds


def test_every_requirement_sentence_maps_to_a_check_or_a_reason():
    from mlplab.validity.requirements import requirement_table

    rows, problems = requirement_table(ROOT)
    assert not problems, problems
    assert len(rows) >= 40
    ungraded = [r for r in rows if not r["checks"]]
    assert all(r["ungraded"] for r in ungraded)
    assert len(ungraded) <= 6, [r["text"] for r in ungraded]


def test_requirement_sentences_are_found_in_the_docstrings():
    from mlplab.validity.requirements import requirement_sentences

    texts = {(s.cell, s.text) for s in requirement_sentences(ROOT)}
    assert any(cell == "relu_backward_solution" and "exactly ``x == 0``" in t for cell, t in texts)
    assert any(cell == "dropout_forward_solution" and "np.random.rand(*x.shape) < p" in t for cell, t in texts)


@pytest.mark.slow
def test_new_findings_each_have_a_bug_that_loses_points_in_its_own_task_only(summary):
    """Round 2 of grader validity: each finding of issue 12 is demonstrated by a catalogued bug."""
    wanted = {
        "batchnorm_forward__unbiased_variance_reordered_cache", "layernorm_forward__batch_axis",
        "dropout_forward__float64_mask_in_cache", "batchnorm_forward__variance_from_squares",
        "layernorm_forward__variance_from_squares", "relu_backward__passes_gradient_at_zero",
        "dropout_forward__binomial_mask", "build_mlp__no_batchnorm", "build_mlp__dropout_keep_ratio",
        "build_mlp__no_dropout", "build_mlp__widths_1024_512_256", "build_cnn__one_pool_fewer_first",
        "build_cnn__one_pool_fewer_last", "build_cnn__relu_before_batchnorm", "build_cnn__conv_bias",
        "train_one_epoch__item_per_batch", "evaluate__item_per_batch",
    }
    found = {m["name"]: m for m in summary["mutants"] if m["name"] in wanted}
    assert set(found) == wanted
    for name, m in found.items():
        assert m["killed"] and not m["collateral"], name


@pytest.mark.slow
def test_a_check_accuracy_bug_costs_only_the_check_accuracy_checks(summary):
    """Solver.train calls check_accuracy: the training checks take the reference one (marker
    ``reference_parts``), so a crashing check_accuracy fails its own 4 checks, not all 17 solver checks."""
    bug = next(m for m in summary["mutants"] if m["name"] == "solver__check_accuracy_passes_labels")
    assert bug["killed"] and not bug["collateral"]
    own = bug["own"]
    assert own["failed"] == 4 and own["passed"] == 13, own
    assert own["score"] == pytest.approx(own["max_score"] * 13 / 17, abs=1e-3)
    assert all("check_accuracy raised" in m and "without y" in m for m in own["messages"]), own["messages"]


def test_round_3_properties_each_have_a_bug_that_loses_points_in_its_own_task_only(summary):
    """Issue 21: the general properties the graders did not check (documented caches, inputs of any shape,
    backward passes without new randomness, a random subset in check_accuracy, one update per minibatch, the
    best epoch's figure in the search), each demonstrated by a catalogued bug, and a correct variant each."""
    wanted = {
        "affine_forward__caches_flattened_x", "relu_forward__cache_in_a_tuple", "dropout_forward__caches_keep_mask",
        "dropout_forward__mask_for_2d_inputs", "dropout_backward__redraws_mask",
        "batchnorm_forward__test_mode_without_gamma_beta", "solver__check_accuracy_first_rows",
        "solver__check_accuracy_same_subset", "solver__one_update_per_epoch",
        "mnist_baseline__search_records_last_epoch",
    }
    found = {m["name"]: m for m in summary["mutants"] if m["name"] in wanted}
    assert set(found) == wanted
    for name, m in found.items():
        assert m["killed"] and not m["collateral"], name
    variants = {"dropout__keep_mask_cache", "affine__dict_cache", "solver__check_accuracy_randint_subset",
                "mnist_baseline__max_of_history"}
    got = {v["name"]: v for v in summary["variants"] if v["name"] in variants}
    assert set(got) == variants
    assert all(v["full_marks"] for v in got.values()), got
