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


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("grade_id", ["train_one_epoch_check", "evaluate_check", "init_weights_check"])
def test_05_visible_check_passes_for_the_reference_on_every_seed(grade_id, seed, capsys):
    namespace = dict(vars(reference("05_mlp_vs_cnn", ROOT)))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        exec(compile(reseeded(visible_check("05_mlp_vs_cnn", grade_id), seed), grade_id, "exec"), namespace)
    finally:
        torch.set_num_threads(threads)
    assert "looks right" in capsys.readouterr().out
