"""Numerical gradients by centred differences, and a relative-error measure.

For a scalar function ``f`` and a small step ``h`` the centred difference

    df/dx_i  ~=  (f(x + h e_i) - f(x - h e_i)) / (2 h)

has an error of order ``h**2`` (a one-sided difference only reaches ``h``).
Comparing this slow but simple estimate with an analytic gradient
(backpropagation) is the standard way to find bugs in a backward pass.

Use float64 inputs for gradient checks: with float32 the rounding error of
``f`` divided by ``2h`` swamps the estimate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def rel_error(x: np.ndarray | float, y: np.ndarray | float) -> float:
    """Maximum elementwise relative error between ``x`` and ``y``.

    ``max |x - y| / max(1e-8, |x| + |y|)`` over all entries; both arguments
    must have the same shape (or broadcast). Rough guide for float64 gradient
    checks: below 1e-7 is good, around 1e-4 deserves a look, above 1e-2 is
    almost surely a bug.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)), initial=0.0))


def eval_numerical_gradient(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    verbose: bool = False,
    h: float = 1e-5,
) -> np.ndarray:
    """Centred-difference gradient of a scalar function ``f`` at ``x``.

    Args:
        f: function of one array argument returning a scalar.
        x: float array of any shape; it is modified temporarily, entry by
            entry, and restored before returning.
        verbose: print every partial derivative as it is computed.
        h: step size.

    Returns:
        grad: array with the shape and dtype of ``x``, ``grad[i] ~ df/dx[i]``.
    """
    grad = np.zeros_like(x)
    for ix in np.ndindex(*x.shape):
        old = x[ix]
        x[ix] = old + h
        f_plus = float(f(x))
        x[ix] = old - h
        f_minus = float(f(x))
        x[ix] = old  # restore
        grad[ix] = (f_plus - f_minus) / (2 * h)
        if verbose:
            print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(
    f: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    df: np.ndarray,
    h: float = 1e-5,
) -> np.ndarray:
    """Numerical gradient of an array-valued function, contracted with ``df``.

    Computes the gradient of the scalar ``sum(f(x) * df)`` with respect to
    ``x``. This is exactly what a backward pass returns when it receives the
    upstream gradient ``dout = df``.

    Args:
        f: function of one array argument returning an array of the shape of ``df``.
        x: float array of any shape (restored before returning).
        df: upstream gradient, same shape as ``f(x)``.
        h: step size.

    Returns:
        grad: array with the shape and dtype of ``x``.
    """
    grad = np.zeros_like(x)
    for ix in np.ndindex(*x.shape):
        old = x[ix]
        x[ix] = old + h
        f_plus = np.array(f(x), dtype=np.float64, copy=True)
        x[ix] = old - h
        f_minus = np.array(f(x), dtype=np.float64, copy=True)
        x[ix] = old  # restore
        grad[ix] = np.sum((f_plus - f_minus) * df) / (2 * h)
    return grad


def grad_check_sparse(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    analytic_grad: np.ndarray,
    num_checks: int = 10,
    h: float = 1e-5,
    seed: int | None = 0,
) -> list[float]:
    """Compare ``analytic_grad`` with centred differences at a few random entries.

    Useful when ``x`` is large (a whole weight matrix) and a full numerical
    gradient would be slow. Prints one line per checked entry.

    Args:
        f: scalar function of ``x``.
        x: float array (restored before returning).
        analytic_grad: array of the shape of ``x``.
        num_checks: how many random entries to check.
        h: step size.
        seed: seed of the generator picking the entries (None: not reproducible).

    Returns:
        the relative errors of the checked entries.
    """
    rng = np.random.default_rng(seed)
    errors = []
    for _ in range(num_checks):
        ix = tuple(int(rng.integers(n)) for n in x.shape)
        old = x[ix]
        x[ix] = old + h
        f_plus = float(f(x))
        x[ix] = old - h
        f_minus = float(f(x))
        x[ix] = old
        numeric = (f_plus - f_minus) / (2 * h)
        analytic = float(analytic_grad[ix])
        err = abs(numeric - analytic) / max(1e-8, abs(numeric) + abs(analytic))
        errors.append(err)
        print(f"numerical: {numeric: .6e}  analytic: {analytic: .6e}  relative error: {err:.2e}")
    return errors
