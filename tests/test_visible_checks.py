"""Visible checks pass for correct code on every seed, not only the one printed in the notebook.

A visible check that fails for correct code with another seed is a check that a correct student can
see fail (other data, another machine's random stream). Each check that draws random numbers is run
on the reference code with its seeds replaced, the way the graders run their checks on many seeds.
"""

from __future__ import annotations

import re

import pytest
import torch

from mlplab.grading.reference import reference

from .helpers.paths import ROOT

SEEDS = tuple(range(1, 12))
SEEDED = re.compile(r"(manual_seed|default_rng|np\.random\.seed)\((\d+)\)")


def visible_check(stem: str, grade_id: str) -> str:
    import json

    nb = json.loads((ROOT / "source" / "mlp" / f"{stem}.ipynb").read_text())
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return "".join(cell["source"])
    raise KeyError(grade_id)


def reseeded(source: str, seed: int) -> str:
    """The check with every seed it sets shifted by ``seed``."""
    assert SEEDED.search(source), "this check draws no seeded random numbers"
    return SEEDED.sub(lambda m: f"{m.group(1)}({seed + int(m.group(2))})", source)


# seeded visible checks that are deliberately tied to their own seed, each with the reason
TIED_TO_THEIR_SEED = {
    "fc_net_check": "asserts the initial losses of seed 231 (2.3005 and 7.0521), numbers the notebook quotes",
}
# cells a check reads variables from (the data, an earlier check's weights): run first, reseeded the same way
NEEDS = {"solver_check": ("cifar_data",), "batchnorm_running_average_check": ("batchnorm_forward_check",)}


def seeded_checks() -> list[tuple[str, str]]:
    """(notebook, grade_id) of every visible check cell that draws seeded random numbers."""
    import json

    found = []
    for path in sorted((ROOT / "source" / "mlp").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
            if grade_id.endswith("_check") and SEEDED.search("".join(cell["source"])):
                found.append((path.stem, grade_id))
    return found


CHECKS = [(stem, grade_id) for stem, grade_id in seeded_checks() if grade_id not in TIED_TO_THEIR_SEED]


def test_every_seeded_visible_check_is_run_on_every_seed_or_says_why_not():
    checks = {grade_id for _, grade_id in seeded_checks()}
    assert len(CHECKS) >= 15, CHECKS
    assert set(TIED_TO_THEIR_SEED) <= checks, "a check listed as tied to its seed no longer exists or is unseeded"


@pytest.mark.needs_data
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("stem,grade_id", CHECKS)
def test_visible_check_passes_for_the_reference_on_every_seed(stem, grade_id, seed, data, monkeypatch):
    monkeypatch.setenv("MLPLAB_DATA", str(data))
    monkeypatch.setenv("MLPLAB_QUICK", "1")
    namespace = dict(vars(reference(stem, ROOT)))
    namespace.setdefault("display", lambda *args, **kwargs: None)
    namespace.setdefault("Markdown", str)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for needed in NEEDS.get(grade_id, ()):
            source = visible_check(stem, needed)
            exec(compile(reseeded(source, seed) if SEEDED.search(source) else source, needed, "exec"), namespace)
        # every assert of the check must hold: an AssertionError fails this test with the check's message
        exec(compile(reseeded(visible_check(stem, grade_id), seed), grade_id, "exec"), namespace)
    finally:
        torch.set_num_threads(threads)


VISIBLE_DIAGNOSES = [
    ("softmax_loss__shifts_x_in_place", "01_layers", "softmax_loss_check", "in place"),
    ("softmax_loss__gradient_not_averaged", "01_layers", "softmax_loss_check", "N times too large"),
    ("dropout_forward__masks_x_in_place", "02_normalization", "dropout_forward_check", "in place"),
    ("batchnorm_forward__centres_x_in_place", "02_normalization", "batchnorm_forward_check", "in place"),
    ("batchnorm_forward__centres_x_in_place", "02_normalization", "batchnorm_backward_check", "in place"),
    ("layernorm_backward__dgamma_over_features", "02_normalization", "layernorm_backward_check", "has shape"),
]


@pytest.mark.parametrize("mutant,stem,grade_id,phrase", VISIBLE_DIAGNOSES)
def test_visible_check_names_the_real_cause(mutant, stem, grade_id, phrase, capsys):
    """Shapes are checked before values and in-place edits are reported as in-place edits."""
    from mlplab.validity.mutants import apply_to_source, load_all, solution_sources

    change = next(c for c in load_all("mutants", ROOT) if c.name == mutant)
    cell = solution_sources(ROOT / "source" / "mlp" / f"{stem}.ipynb")[change.cell]
    namespace = dict(vars(reference(stem, ROOT)))
    exec(compile(apply_to_source(change, cell), mutant, "exec"), namespace)
    with pytest.raises(AssertionError) as failure:
        exec(compile(visible_check(stem, grade_id), grade_id, "exec"), namespace)
    assert phrase in str(failure.value)


ROUND_3_VISIBLE = [
    ("affine_forward__caches_flattened_x", "affine_backward_check", "documented cache"),
    ("relu_forward__cache_in_a_tuple", "relu_backward_check", ""),
    ("dropout_forward__caches_keep_mask", "dropout_backward_check", "documented cache"),
    ("dropout_forward__mask_for_2d_inputs", "dropout_forward_check", ""),
    ("dropout_backward__redraws_mask", "dropout_backward_check", "draws no random numbers"),
    ("batchnorm_forward__test_mode_without_gamma_beta", "batchnorm_running_average_check", "gamma or beta"),
]


def _visible_job(name: str):
    from mlplab.validity.plan import make_plan
    from mlplab.validity.validate import _change_source
    from mlplab.validity.visible import VisibleJob

    plan = make_plan(ROOT)
    change = next(c for c in plan.mutants + plan.variants if c.name == name)
    source, error = _change_source(change, plan)
    assert not error, error
    return VisibleJob(name, plan.cell_notebook[change.cell], ((change.cell, source or ""), *change.extra))


@pytest.mark.parametrize("mutant,check,phrase", ROUND_3_VISIBLE)
def test_visible_checks_catch_the_round_3_bugs_before_submission(mutant, check, phrase, monkeypatch):
    """The catalogue's visible-check column, on the bugs of issue 21 (01-02: in moments)."""
    from mlplab.validity.visible import run_visible

    monkeypatch.setenv("MLPLAB_QUICK", "1")
    result = run_visible(_visible_job(mutant), ROOT)
    assert result["caught_by"] == check, result
    assert phrase in result["message"], result


@pytest.mark.parametrize("stem", ["01_layers", "02_normalization"])
def test_visible_check_column_passes_the_reference_and_the_variants(stem, monkeypatch):
    from mlplab.validity.plan import make_plan
    from mlplab.validity.visible import VisibleJob, run_visible

    monkeypatch.setenv("MLPLAB_QUICK", "1")
    assert run_visible(VisibleJob("", stem, ()), ROOT)["caught_by"] is None
    plan = make_plan(ROOT)
    for change in plan.variants:
        if plan.cell_notebook[change.cell] == stem:
            result = run_visible(_visible_job(change.name), ROOT)
            assert result["caught_by"] is None, result
