"""Small, provided training loops (no solutions here: the model and the solver are yours).

* :func:`train_minibatch_sgd` -- plain minibatch SGD for the overfitting experiment of
  notebook 03 (the Solver is only written in notebook 04).
* :func:`train_mnist_baseline` -- the full-data training of the MNIST baseline in notebook 04,
  given your ``build_baseline_model`` and ``Solver``.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = [
    "MNIST_BASELINE_HPARAMS",
    "MNIST_FULL_SCHEDULE",
    "accuracy",
    "count_parameters",
    "train_minibatch_sgd",
    "train_mnist_baseline",
]

# A configuration of the MNIST baseline known to reach about 98% test accuracy
# (lr: Adam learning rate, reg: L2 strength, ws: weight scale, kp: dropout keep probability).
MNIST_BASELINE_HPARAMS = {"lr": 2e-3, "reg": 1e-4, "ws": 5e-2, "kp": 0.9}
# How the baseline is trained on the full 55,000 training images.
MNIST_FULL_SCHEDULE = {"num_epochs": 12, "batch_size": 200, "lr_decay": 0.85}


def accuracy(model, X: np.ndarray, y: np.ndarray, batch_size: int = 1000) -> float:
    """Fraction of ``X`` that ``model.loss(X)`` (test mode) classifies as ``y``."""
    correct = 0
    for start in range(0, len(X), batch_size):
        scores = model.loss(X[start : start + batch_size])
        correct += int(np.sum(np.argmax(scores, axis=1) == y[start : start + batch_size]))
    return correct / max(len(X), 1)


def count_parameters(params: dict, prefixes: tuple[str, ...] = ("W", "b")) -> int:
    """Number of scalars in the parameters whose names start with one of ``prefixes``."""
    return int(sum(np.size(v) for k, v in params.items() if k.rstrip("0123456789") in prefixes))


def train_minibatch_sgd(
    model,
    X: np.ndarray,
    y: np.ndarray,
    learning_rate: float,
    num_epochs: int = 20,
    batch_size: int = 25,
    seed: int = 0,
) -> dict:
    """Vanilla minibatch SGD on ``model`` (anything with ``.params`` and ``.loss(X, y)``).

    Each epoch visits the samples in a fresh random order (``np.random.default_rng(seed)``),
    in ``ceil(N / batch_size)`` minibatches, and updates every parameter in place with
    ``p -= learning_rate * grad``. After each epoch the training accuracy is measured in test mode.

    Returns ``{"loss_history": [...one per iteration], "train_acc_history": [...one per epoch]}``.
    Training stops early (and the histories are shorter) if the loss becomes NaN or infinite.
    """
    rng = np.random.default_rng(seed)
    n = len(X)
    loss_history: list[float] = []
    train_acc_history: list[float] = []
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(num_epochs):
            order = rng.permutation(n)
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                loss, grads = model.loss(X[idx], y[idx])
                loss = float(loss)
                loss_history.append(loss)
                if not np.isfinite(loss):
                    return {"loss_history": loss_history, "train_acc_history": train_acc_history}
                for name, grad in grads.items():
                    model.params[name] -= learning_rate * grad
            train_acc_history.append(accuracy(model, X, y))
    return {"loss_history": loss_history, "train_acc_history": train_acc_history}


def train_mnist_baseline(
    build_model,
    solver_class,
    data: dict,
    hparams: dict | None = None,
    num_epochs: int | None = None,
    batch_size: int | None = None,
    lr_decay: float | None = None,
    verbose: bool = True,
    seed: int = 0,
) -> dict:
    """Train the MNIST baseline with Adam and report its test accuracy.

    ``build_model(hparams)`` must return the network (your ``build_baseline_model``);
    ``solver_class`` is your ``Solver``. Missing arguments come from :data:`MNIST_BASELINE_HPARAMS`
    and :data:`MNIST_FULL_SCHEDULE`. ``np.random.seed(seed)`` is set first so runs are repeatable.

    Returns ``{"model", "solver", "test_acc", "val_acc", "seconds"}``; the model holds the
    solver's best parameters (by validation accuracy).
    """
    hparams = dict(MNIST_BASELINE_HPARAMS if hparams is None else hparams)
    schedule = dict(MNIST_FULL_SCHEDULE)
    for key, value in (("num_epochs", num_epochs), ("batch_size", batch_size), ("lr_decay", lr_decay)):
        if value is not None:
            schedule[key] = value
    np.random.seed(seed)
    start = time.perf_counter()
    model = build_model(hparams)
    solver = solver_class(
        model,
        data,
        update_rule="adam",
        optim_config={"learning_rate": hparams["lr"]},
        lr_decay=schedule["lr_decay"],
        num_epochs=schedule["num_epochs"],
        batch_size=schedule["batch_size"],
        num_train_samples=2000,
        print_every=10**9,
        verbose=verbose,
    )
    solver.train()
    model.params = solver.best_params
    val_acc = accuracy(model, data["X_val"], data["y_val"])
    test_acc = accuracy(model, data["X_test"], data["y_test"])
    seconds = time.perf_counter() - start
    if verbose:
        print(f"validation accuracy {val_acc:.4f}, test accuracy {test_acc:.4f} ({seconds:.0f} s)")
    return {"model": model, "solver": solver, "test_acc": test_acc, "val_acc": val_acc, "seconds": seconds}
