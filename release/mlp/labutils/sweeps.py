"""Provided experiments of notebook 04 that make its comparisons fair (your model and Solver, our loops).

* :func:`lr_sweep` -- every update rule at several learning rates; :func:`best_rates` picks each
  rule's best, so optimisers are compared best against best rather than at one hand-picked rate.
* :func:`ablation` -- the same network with one ingredient (batch norm, dropout, L2) switched off
  at a time, so that "which of them mattered most?" has an answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

__all__ = ["lr_sweep", "best_rates", "ablation", "ABLATIONS"]

# Variants of the MNIST baseline: changes to its settings (normalization, kp = keep probability, reg).
ABLATIONS: dict[str, dict] = {
    "baseline (BN + dropout + L2)": {},
    "without batch norm": {"normalization": None},
    "without dropout": {"kp": 1.0},
    "without L2": {"reg": 0.0},
    "none of the three": {"normalization": None, "kp": 1.0, "reg": 0.0},
}


def _train(build_model: Callable[[], object], solver_class, data: Mapping, rule: str, lr: float,
           num_epochs: int, batch_size: int, seed: int, **solver_kwargs):
    np.random.seed(seed)
    model = build_model()
    solver = solver_class(model, dict(data), update_rule=rule, optim_config={"learning_rate": lr},
                          num_epochs=num_epochs, batch_size=batch_size, verbose=False, **solver_kwargs)
    solver.train()
    return solver


def lr_sweep(
    build_model: Callable[[], object],
    solver_class,
    data: Mapping,
    rates: Mapping[str, Sequence[float]],
    num_epochs: int = 1,
    batch_size: int = 100,
    seed: int = 0,
) -> dict[str, dict[float, float]]:
    """Best validation accuracy of a fresh ``build_model()`` trained with each rule at each rate.

    ``rates`` maps an update-rule name to the learning rates to try. Every run starts from the same
    seed (same initial weights and minibatches). Returns ``{rule: {lr: best val acc}}``; a run whose
    loss became NaN or inf counts as accuracy 0.
    """
    results: dict[str, dict[float, float]] = {}
    for rule, rule_rates in rates.items():
        results[rule] = {}
        for lr in rule_rates:
            with np.errstate(all="ignore"):
                solver = _train(build_model, solver_class, data, rule, lr, num_epochs, batch_size, seed)
            diverged = not np.all(np.isfinite(solver.loss_history))
            results[rule][lr] = 0.0 if diverged else float(max(solver.val_acc_history))
    return results


def best_rates(results: Mapping[str, Mapping[float, float]]) -> dict[str, float]:
    """Each rule's learning rate with the highest validation accuracy (the smaller rate on ties)."""
    return {rule: min(accs, key=lambda lr: (-accs[lr], lr)) for rule, accs in results.items()}


def ablation(
    build_model: Callable[[dict], object],
    solver_class,
    data: Mapping,
    hparams: Mapping,
    variants: Mapping[str, Mapping] = ABLATIONS,
    num_epochs: int = 2,
    batch_size: int = 200,
    seed: int = 0,
) -> dict[str, object]:
    """Train one model per variant with Adam and return ``{variant name: solver}``.

    ``build_model(settings)`` receives ``hparams`` updated with the variant's changes (keys of
    :data:`ABLATIONS`: ``normalization``, ``kp``, ``reg``; the baseline has
    ``normalization="batchnorm"``) and must return the network.
    """
    solvers = {}
    for name, change in variants.items():
        settings = {"normalization": "batchnorm", **hparams, **change}
        solvers[name] = _train(lambda s=settings: build_model(s), solver_class, data, "adam", settings["lr"],
                               num_epochs, batch_size, seed, lr_decay=0.9)
    return solvers
