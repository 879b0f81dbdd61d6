"""Notebook 04's seeded, tuned comparisons at quick-mode sizes, called directly (no notebook is executed).

What the issue asks of every comparison in quick mode: several seeds, mean ± standard error in the tables,
a chosen learning rate (and weight scale) that is never on the edge of its grid, selection on the
validation split and reporting on a test split. The grids and sizes are read from notebook 04's own
cells, so this test checks what the notebook runs.
"""

from __future__ import annotations

import ast
import sys
import warnings

import nbformat
import numpy as np
import pytest

from .helpers.paths import SOLUTIONS, SOURCE

sys.path.insert(0, str(SOURCE))

from labutils.data import load_cifar10, load_mnist, subsample  # noqa: E402
from labutils.nbimport import import_notebook_code  # noqa: E402
from labutils.stats import comparison_table, seeds  # noqa: E402
from labutils.sweeps import tuned_ablation, tuned_rules, tuned_table  # noqa: E402
from labutils.training import MNIST_BASELINE_HPARAMS  # noqa: E402


def cell_source(cell_id: str) -> str:
    nb = nbformat.read(SOURCE / "04_optim_solver.ipynb", as_version=4)
    return next(c.source for c in nb.cells if c.get("id") == cell_id)


def assigned_literal(source: str, name: str):
    """The literal value assigned to ``name`` in ``source`` (e.g. the notebook's grids)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"no literal assignment to {name!r} in the cell")


@pytest.fixture(scope="module")
def reference(data):
    namespace: dict = {}
    notebooks = ("01_layers.ipynb", "02_normalization.ipynb", "03_fc_net.ipynb", "04_optim_solver.ipynb")
    import_notebook_code(*(SOLUTIONS / name for name in notebooks), namespace=namespace)
    return namespace


@pytest.fixture(scope="module")
def optimiser_runs(reference):
    grids = assigned_literal(cell_source("optimizer-fair"), "grids")
    cifar = load_cifar10(num_training=500, num_validation=500, num_test=500)  # cell c603088a, quick mode
    net = reference["FullyConnectedNet"]
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*still on the edge")  # tune()'s warning: fail on it
        runs = tuned_rules(lambda: net([100] * 4, weight_scale=1e-1), reference["Solver"], cifar, grids,
                           seeds=seeds(quick=True), num_epochs=2)
    return grids, runs


@pytest.fixture(scope="module")
def ablation_runs(reference):
    source = cell_source("mnist-ablation")
    assert "num_train=1000 if quick_mode()" in source and "num_test=2000 if quick_mode()" in source
    data = subsample(load_mnist(), num_train=1000, num_val=1000, num_test=2000)
    net = reference["FullyConnectedNet"]

    def build(s):
        return net([256, 128, 64], input_dim=784, num_classes=10, normalization=s["normalization"],
                   dropout_keep_ratio=s["kp"], reg=s["reg"], weight_scale=s["ws"], dtype=np.float32)

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*still on the edge")
        return tuned_ablation(build, reference["Solver"], data, MNIST_BASELINE_HPARAMS, seeds=seeds(quick=True),
                              num_epochs=2)


def test_every_update_rule_gets_an_interior_learning_rate_from_three_seeds(optimiser_runs):
    grids, runs = optimiser_runs
    assert list(runs) == list(grids)
    for rule, run in runs.items():
        tuned = run.tuned["lr"]
        assert not run.on_edge, f"{rule}: chosen rate {tuned.best} on the edge of {tuned.grid}"
        assert min(tuned.grid) < run.params["lr"] < max(tuned.grid)
        assert set(grids[rule]) <= set(tuned.grid)  # the initial grid was evaluated in full
        assert len(tuned.runs[tuned.best]) == len(run.val) == len(run.test) == 3


def test_the_optimiser_tables_carry_mean_plus_minus_standard_error_and_n(optimiser_runs):
    _, runs = optimiser_runs
    table = tuned_table(runs, label="update rule").splitlines()
    assert "mean ± SE (selection)" in table[0] and "(report)" in table[0]
    for line in table[2:]:
        assert line.count("±") == 2 and line.endswith("| 3 |") and "edge!)" not in line, line
    test_table = comparison_table({rule: r.test for rule, r in runs.items()}).splitlines()
    assert all("±" in line and line.endswith("| 3 |") for line in test_table[2:])


def test_selection_uses_validation_accuracy_and_the_test_split_is_only_reported(optimiser_runs):
    _, runs = optimiser_runs
    for run in runs.values():
        tuned = run.tuned["lr"]
        assert tuned.scores[tuned.best] == pytest.approx(np.mean(run.val))
        assert tuned.scores[tuned.best] == max(tuned.scores.values())
        assert run.val != run.test  # two different splits


def test_every_ablation_variant_gets_its_own_interior_learning_rate_and_weight_scale(ablation_runs):
    assert len(ablation_runs) == 5
    for name, run in ablation_runs.items():
        for key, tuned in run.tuned.items():
            assert not tuned.on_edge, f"{name}: chosen {key} {tuned.best} on the edge of {tuned.grid}"
        assert set(run.params) == {"lr", "ws"} and len(run.test) == 3
    table = tuned_table(ablation_runs, label="variant").splitlines()
    assert all(line.count("±") == 2 and line.endswith("| 3 |") for line in table[2:])
    assert "without batch norm" in "\n".join(table)
