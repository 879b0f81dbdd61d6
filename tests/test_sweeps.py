"""Provided experiments of notebook 04 (labutils.sweeps) with the reference FullyConnectedNet and Solver."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from .helpers.paths import SOLUTIONS, SOURCE

sys.path.insert(0, str(SOURCE))

from labutils.nbimport import import_notebook_code  # noqa: E402
from labutils.sweeps import ABLATIONS, ablation, best_rates, lr_sweep  # noqa: E402


@pytest.fixture(scope="module")
def reference():
    namespace: dict = {}
    notebooks = ("01_layers.ipynb", "02_normalization.ipynb", "03_fc_net.ipynb", "04_optim_solver.ipynb")
    import_notebook_code(*(SOLUTIONS / name for name in notebooks), namespace=namespace)
    return namespace


def blobs(seed: int, n: int = 120, dim: int = 6, classes: int = 3) -> dict:
    """Three well separated Gaussian blobs: an easy problem a working optimiser solves in an epoch."""
    rng = np.random.default_rng(seed)
    centres = 3 * rng.normal(size=(classes, dim))
    y = rng.integers(classes, size=2 * n)
    X = (centres[y] + rng.normal(size=(2 * n, dim))).astype(np.float32)
    return {"X_train": X[:n], "y_train": y[:n], "X_val": X[n:], "y_val": y[n:]}


def test_lr_sweep_scores_every_rate_and_picks_the_best_per_rule(reference):
    net = reference["FullyConnectedNet"]
    data = blobs(seed=1)
    rates = {"sgd": [1e-6, 1e-1], "adam": [1e-8, 1e-2, 1e4]}
    results = lr_sweep(lambda: net([20], input_dim=6, num_classes=3, weight_scale=1e-1), reference["Solver"], data,
                       rates, num_epochs=3, batch_size=20)
    assert {rule: list(accs) for rule, accs in results.items()} == rates
    assert results["sgd"][1e-1] > 0.9 > results["sgd"][1e-6]
    assert results["adam"][1e-2] > 0.9 > results["adam"][1e-8]
    assert best_rates(results) == {"sgd": 1e-1, "adam": 1e-2}


def test_best_rates_breaks_ties_towards_the_smaller_rate():
    assert best_rates({"sgd": {0.3: 0.5, 0.1: 0.5, 0.01: 0.2}}) == {"sgd": 0.1}


def test_ablation_switches_off_exactly_one_ingredient_per_variant(reference):
    net, built = reference["FullyConnectedNet"], {}

    def build(settings):
        built[len(built)] = settings
        return net([8, 8], input_dim=6, num_classes=3, normalization=settings["normalization"],
                   dropout_keep_ratio=settings["kp"], reg=settings["reg"], weight_scale=settings["ws"])

    hparams = {"lr": 1e-2, "reg": 1e-3, "ws": 5e-2, "kp": 0.9}
    solvers = ablation(build, reference["Solver"], blobs(seed=2), hparams, num_epochs=1, batch_size=20)
    assert list(solvers) == list(ABLATIONS)
    settings = dict(zip(ABLATIONS, built.values(), strict=True))
    assert settings["baseline (BN + dropout + L2)"] == {"normalization": "batchnorm", **hparams}
    assert settings["without batch norm"]["normalization"] is None and settings["without batch norm"]["kp"] == 0.9
    assert settings["without dropout"]["kp"] == 1.0 and settings["without dropout"]["reg"] == 1e-3
    assert settings["without L2"]["reg"] == 0.0 and settings["without L2"]["normalization"] == "batchnorm"
    assert ("gamma1" in solvers["baseline (BN + dropout + L2)"].model.params) is True
    assert "gamma1" not in solvers["none of the three"].model.params
    assert all(len(s.val_acc_history) == 1 for s in solvers.values())


def test_relu_traces_record_every_hidden_layer_in_order_and_restore_the_layers(reference):
    from labutils.layerstats import relu_traces, summarise

    namespace = dict(reference)
    originals = namespace["relu_forward"], namespace["relu_backward"]
    np.random.seed(0)
    model = namespace["FullyConnectedNet"]([7, 5, 4], input_dim=6, num_classes=3, weight_scale=0.5,
                                           dtype=np.float64)
    # the network looks its layers up in the namespace it was defined in
    model_globals = type(model).loss.__globals__
    data = blobs(seed=3, n=10)
    traces = relu_traces(model, data["X_train"], data["y_train"], model_globals)
    assert [a.shape for a in traces["activations"]] == [(10, 7), (10, 5), (10, 4)]
    assert [g.shape for g in traces["gradients"]] == [(10, 7), (10, 5), (10, 4)]
    assert all((a >= 0).all() for a in traces["activations"])
    # the last hidden layer's gradient is dscores @ W4.T: the gradients come back in layer order
    scores = traces["activations"][-1] @ model.params["W4"] + model.params["b4"]
    _, dscores = namespace["softmax_loss"](scores, data["y_train"])
    np.testing.assert_allclose(traces["gradients"][-1], dscores @ model.params["W4"].T, rtol=1e-10)
    assert (model_globals["relu_forward"], model_globals["relu_backward"]) == originals
    assert [set(s) for s in summarise(traces)] == [{"act_std", "active", "grad_std"}] * 3
