"""Assertions for graders whose failure messages teach without leaking.

Every failure raises :class:`GradeFailure`; its message is shown to the
student as is (prefixed by the task id). Messages state the measured error,
the tolerance and a hint, never the hidden inputs, expected arrays or the
grader's source.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from mlplab.sandbox.student import StudentError

# per student: forward functions that failed once (see forward_for_backward)
_BROKEN_FORWARDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class GradeFailure(AssertionError):
    """A grader check failed; ``str(exc)`` is the message for the student."""


# Measurements of the running test, read by the grading plugin (``mlplab validate-graders`` reports
# every check's margin: how far the reference stays below its tolerance and how far bugs land above it).
# None when nobody listens; the plugin calls start_recording() before a test and stop_recording() after.
_RECORDED: list[tuple[str, float, float]] | None = None


def start_recording() -> None:
    """Collect the measurements of the following checks (called by the grading plugin)."""
    global _RECORDED
    _RECORDED = []


def stop_recording() -> list[tuple[str, float, float]]:
    """Stop collecting and return ``[(what, measured, tolerance), ...]`` in check order."""
    global _RECORDED
    recorded, _RECORDED = _RECORDED or [], None
    return recorded


def record(what: str, measured: float, tol: float) -> None:
    """Note one measured quantity that must stay below ``tol`` (a no-op unless recording)."""
    if _RECORDED is not None:
        value = float(measured)
        _RECORDED.append((what, value if value == value else float("inf"), float(tol)))


def expect(condition: bool, message: str) -> None:
    """Fail with ``message`` unless ``condition`` holds."""
    if not condition:
        raise GradeFailure(message)


def rel_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """Max elementwise relative error ``|a - e| / max(1e-8, |a| + |e|)``."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    return float(np.max(np.abs(a - e) / np.maximum(1e-8, np.abs(a) + np.abs(e)), initial=0.0))


def as_array(what: str, value: Any, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Require a numeric ndarray (optionally of ``shape``) and return it."""
    expect(
        isinstance(value, np.ndarray),
        f"{what} should be a numpy array, got {type(value).__name__}",
    )
    expect(value.dtype.kind in "biuf", f"{what} should hold numbers, got dtype {value.dtype}")
    if shape is not None:
        expect(
            value.shape == tuple(shape),
            f"{what} has shape {value.shape}, expected {tuple(shape)}",
        )
    return value


def check_close(
    what: str,
    actual: Any,
    expected: np.ndarray | float,
    tol: float,
    hint: str = "",
) -> float:
    """Relative-error check with a teaching message; returns the measured error.

    Example message: ``dw relative error 3.1e-01 (needs < 1e-07): check which axis you sum over``.
    """
    expected = np.asarray(expected)
    if expected.ndim == 0 and not isinstance(actual, np.ndarray):
        expect(
            isinstance(actual, (int, float)) and not isinstance(actual, bool),
            f"{what} should be a number, got {type(actual).__name__}",
        )
        actual = np.asarray(float(actual))
    else:
        actual = as_array(what, actual, expected.shape)
    if not np.all(np.isfinite(actual)):
        record(what, float("inf"), tol)
    expect(bool(np.all(np.isfinite(actual))), f"{what} contains NaN or inf" + (f": {hint}" if hint else ""))
    err = rel_error(actual, expected)
    record(what, err, tol)
    expect(err < tol, f"{what} relative error {err:.1e} (needs < {tol:.0e})" + (f": {hint}" if hint else ""))
    return err


def numeric_gradient(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, df: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Centred-difference gradient of ``sum(f(x) * df)`` with respect to ``x`` (float64)."""
    x = np.array(x, dtype=np.float64, copy=True)
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = np.sum(f(x) * df)
        flat[i] = old - h
        minus = np.sum(f(x) * df)
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * h)
    return grad


def numeric_gradient_scalar(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of a scalar function ``f`` at ``x`` (float64)."""
    return numeric_gradient(lambda z: np.asarray(f(z)), x, np.asarray(1.0), h)


# -- array helpers shared by the layer and normalisation graders --------------------------


def check_array(
    what: str,
    actual: Any,
    expected: np.ndarray,
    tol: float,
    hint: str,
    dtype: Any = None,
) -> float:
    """Compare arrays by ``max|a - e| / max|e|`` (robust to entries that are ~0)."""
    expected = np.asarray(expected, dtype=np.float64)
    actual = as_array(what, actual, expected.shape)
    if dtype is not None:
        expect(
            actual.dtype == np.dtype(dtype),
            f"{what} has dtype {actual.dtype} for {np.dtype(dtype)} inputs: keep the input dtype "
            "(e.g. create arrays with dtype=x.dtype, not np.zeros(shape))",
        )
    if not np.all(np.isfinite(actual)):
        record(what, float("inf"), tol)
    expect(bool(np.all(np.isfinite(actual))), f"{what} contains NaN or inf: {hint}")
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-12)
    err = float(np.max(np.abs(actual.astype(np.float64) - expected), initial=0.0)) / scale
    record(what, err, tol)
    expect(err < tol, f"{what} error {err:.1e} relative to its largest entry (needs < {tol:.0e}): {hint}")
    return err


def equal_structure(a: Any, b: Any) -> bool:
    """True when two plain values (arrays, tuples, lists, dicts, numbers) are identical."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
            and a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=True))
        )
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(equal_structure(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal_structure(a[k], b[k]) for k in a)
    return type(a) is type(b) and (a == b or (a != a and b != b))


def unpack(what: str, value: Any, n: int) -> tuple:
    """Require a tuple/list of ``n`` items (e.g. ``(out, cache)``)."""
    expect(isinstance(value, (tuple, list)) and len(value) == n, f"{what} should return a tuple of {n} values")
    return tuple(value)


def forward_dtype(out: Any) -> Any:
    """float32 when the student's forward kept float32, else None (not the backward's fault)."""
    return np.float32 if isinstance(out, np.ndarray) and out.dtype == np.float32 else None


def forward_for_backward(student: Any, name: str, inputs: tuple, contract: Any) -> tuple[Any, Any]:
    """``(out, cache)`` of the student's forward pass ``name(*inputs)``, to test its backward pass.

    When that forward fails (raises, hangs, kills its worker, or does not return ``(out, cache)``),
    the cache the notebook documents (``contract``, e.g. ``(x, w, b)``) stands in and ``out`` is
    None, now and for the rest of this student's checks: a broken forward costs points in its own
    task only, and a hanging one costs its time once.
    """
    broken = _BROKEN_FORWARDS.setdefault(student, set())
    if name not in broken:
        try:
            return unpack(name, student.call(name, *inputs), 2)
        except (StudentError, GradeFailure):  # timeouts and crashes are StudentErrors too
            broken.add(name)
    return None, contract
