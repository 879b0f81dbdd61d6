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

from .conftest import ROOT

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
    """The check with every literal seed ``n`` replaced by ``seed + n``."""
    assert SEEDED.search(source), "this check draws no seeded random numbers"
    return SEEDED.sub(lambda m: f"{m.group(1)}({seed + int(m.group(2))})", source)


CHECKS = [
    ("01_layers", "softmax_loss_check", "dx relative error"),
    ("02_normalization", "batchnorm_forward_check", "after, gamma"),
    ("02_normalization", "batchnorm_backward_check", "dbeta relative error"),
    ("02_normalization", "layernorm_backward_check", "dbeta relative error"),
    ("02_normalization", "dropout_forward_check", "fraction kept"),
    ("02_normalization", "dropout_backward_check", "dx relative error"),
    ("05_mlp_vs_cnn", "train_one_epoch_check", "looks right"),
    ("05_mlp_vs_cnn", "evaluate_check", "looks right"),
    ("05_mlp_vs_cnn", "init_weights_check", "looks right"),
]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("stem,grade_id,printed", CHECKS)
def test_visible_check_passes_for_the_reference_on_every_seed(stem, grade_id, printed, seed, capsys):
    namespace = dict(vars(reference(stem, ROOT)))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        exec(compile(reseeded(visible_check(stem, grade_id), seed), grade_id, "exec"), namespace)
    finally:
        torch.set_num_threads(threads)
    assert printed in capsys.readouterr().out


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
