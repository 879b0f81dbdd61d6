"""Provided experiments of notebook 04 that make its comparisons fair (your model and Solver, our loops).

* :func:`lr_sweep` -- every update rule at several learning rates; :func:`best_rates` picks each
  rule's best, so optimisers are compared best against best rather than at one hand-picked rate.
* :func:`ablation` -- the same network with one ingredient (batch norm, dropout, L2) switched off
  at a time, so that "which of them mattered most?" has an answer.
* :func:`tuned_rules`, :func:`tuned_ablation` -- the same comparisons done carefully: several seeds,
  every setting with its own tuned learning rate (and weight scale), grids widened until the choice
  is inside them, chosen on the validation split and reported on the test split;
  :func:`tuned_table` shows them with mean ± standard error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from labutils.stats import Tuned, mean_interval, tune
from labutils.training import accuracy

__all__ = ["lr_sweep", "best_rates", "ablation", "ABLATIONS", "TunedRun", "tuned_rules", "tuned_ablation",
           "tuned_table"]

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


# ----------------------------------------------------------------------------------------------
# Tuned, seeded comparisons: select on the validation split, report on the test split.


@dataclass
class TunedRun:
    """One setting (an update rule, an ablation variant) at its tuned hyperparameters.

    Attributes:
        tuned: the :class:`labutils.stats.Tuned` results of each tuned hyperparameter (``{"lr": ...}``,
            plus ``"ws"`` for an ablation), scored by the mean validation accuracy over the seeds.
        params: the chosen values, e.g. ``{"lr": 3e-3, "ws": 5e-2}``.
        val: validation accuracy of every seed at the chosen values (what the choice was made on).
        test: test accuracy of every seed at the chosen values (never used for any choice).
        solver: the first seed's solver at the chosen values (for plotting its curves).
    """

    tuned: dict[str, Tuned]
    params: dict[str, float]
    val: list[float]
    test: list[float]
    solver: object = field(repr=False, default=None)

    @property
    def on_edge(self) -> bool:
        """True when some chosen value is still on an edge of its (widened) grid."""
        return any(t.on_edge for t in self.tuned.values())


def _seeded_runs(build_model: Callable[[], object], solver_class, data: Mapping, rule: str, lr: float,
                 seeds: Sequence[int], num_epochs: int, batch_size: int, **solver_kwargs):
    """(validation accuracies, test accuracies, first solver) of one setting over ``seeds``."""
    val, test, first = [], [], None
    for seed in seeds:
        with np.errstate(all="ignore"):
            solver = _train(build_model, solver_class, data, rule, lr, num_epochs, batch_size, seed, **solver_kwargs)
            diverged = not np.all(np.isfinite(solver.loss_history))
            val.append(0.0 if diverged else float(max(solver.val_acc_history)))
            test.append(0.0 if diverged else accuracy(solver.model, data["X_test"], data["y_test"]))
        first = solver if first is None else first
    return val, test, first


def tuned_rules(
    build_model: Callable[[], object],
    solver_class,
    data: Mapping,
    grids: Mapping[str, Sequence[float]],
    seeds: Sequence[int],
    num_epochs: int = 1,
    batch_size: int = 100,
    factor: float = 3.0,
    max_widen: int = 3,
) -> dict[str, TunedRun]:
    """Each update rule at its own learning rate, tuned on validation, reported on test, over ``seeds``.

    ``grids`` maps a rule to its initial learning rates; :func:`labutils.stats.tune` widens a grid
    (by ``factor``) while the winner sits on its edge. A rate is scored by the mean over ``seeds`` of
    the best validation accuracy (``data["X_val"]``); a run whose loss became NaN or inf scores 0.
    The test accuracies (``data["X_test"]``) of the chosen rate are returned, never compared.
    """
    results: dict[str, TunedRun] = {}
    for rule, grid in grids.items():
        runs: dict[float, tuple] = {}

        def evaluate(lr: float, rule: str = rule, runs: dict = runs) -> list[float]:
            runs[lr] = _seeded_runs(build_model, solver_class, data, rule, lr, seeds, num_epochs, batch_size)
            return runs[lr][0]

        tuned = tune(evaluate, grid, log=True, factor=factor, max_widen=max_widen)
        val, test, solver = runs[tuned.best]
        results[rule] = TunedRun({"lr": tuned}, {"lr": tuned.best}, val, test, solver)
    return results


def tuned_ablation(
    build_model: Callable[[dict], object],
    solver_class,
    data: Mapping,
    hparams: Mapping,
    seeds: Sequence[int],
    variants: Mapping[str, Mapping] = ABLATIONS,
    num_epochs: int = 2,
    batch_size: int = 200,
    factor: float = 3.0,
    max_widen: int = 2,
) -> dict[str, TunedRun]:
    """:func:`ablation` with each variant's own Adam learning rate and weight scale, over ``seeds``.

    For every variant: tune the learning rate on ``[lr / factor, lr, lr * factor]`` (``hparams``'s lr
    and ws), then the weight scale on ``[ws / factor, ws, ws * factor]`` at the chosen rate, each grid
    widened while its winner is on an edge. Scores are mean best validation accuracies over ``seeds``;
    the chosen setting's test accuracies are reported. A variant without batch norm thus gets the weight
    scale that suits it, instead of inheriting the baseline's.
    """
    results: dict[str, TunedRun] = {}
    for name, change in variants.items():
        base = {"normalization": "batchnorm", **hparams, **change}
        runs: dict[tuple[float, float], tuple] = {}

        def run(lr: float, ws: float, base: dict = base, runs: dict = runs) -> tuple:
            if (lr, ws) not in runs:
                settings = {**base, "lr": lr, "ws": ws}
                runs[(lr, ws)] = _seeded_runs(lambda s=settings: build_model(s), solver_class, data, "adam", lr,
                                              seeds, num_epochs, batch_size, lr_decay=0.9)
            return runs[(lr, ws)]

        lr0, ws0 = float(base["lr"]), float(base["ws"])
        lr_tuned = tune(lambda lr, ws0=ws0, run=run: run(lr, ws0)[0], [lr0 / factor, lr0, lr0 * factor],
                        factor=factor, max_widen=max_widen)
        ws_tuned = tune(lambda ws, lr=lr_tuned.best, run=run: run(lr, ws)[0], [ws0 / factor, ws0, ws0 * factor],
                        factor=factor, max_widen=max_widen)
        val, test, solver = run(lr_tuned.best, ws_tuned.best)
        results[name] = TunedRun({"lr": lr_tuned, "ws": ws_tuned}, {"lr": lr_tuned.best, "ws": ws_tuned.best},
                                 val, test, solver)
    return results


def tuned_table(results: Mapping[str, TunedRun], label: str = "setting", digits: int = 1) -> str:
    """Markdown table: chosen values (and the grid they were chosen from), validation and test accuracy.

    Accuracies are in percent, mean ± standard error over the seeds (n per row). A chosen value still on
    an edge of its grid is marked "(grid edge!)".
    """
    names = next(iter(results.values())).tuned.keys() if results else ()
    header = f"| {label} | " + " | ".join(f"chosen {k} (grid)" for k in names)
    lines = [header + " | val acc %: mean ± SE (selection) | test acc %: mean ± SE (report) | n |",
             "|---|" + "---|" * (len(names) + 3)]
    for name, r in results.items():
        chosen = []
        for t in r.tuned.values():
            grid = ", ".join(f"{v:.2g}" for v in t.grid)
            chosen.append(f"{t.best:.2g} ({grid}){' (grid edge!)' if t.on_edge else ''}")
        val, test = mean_interval(r.val), mean_interval(r.test)
        lines.append(f"| {name} | " + " | ".join(chosen) + f" | {_pm(val, digits)} | {_pm(test, digits)} | {test.n} |")
    return "\n".join(lines)


def _pm(iv, digits: int) -> str:
    se = "(one seed: no SE)" if iv.n < 2 else f"± {iv.se * 100:.{digits}f}"
    return f"{iv.mean * 100:.{digits}f} {se}"
