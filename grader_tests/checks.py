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


# -- fault isolation for backward passes, whatever the student's cache layout ------------------

FORWARD_EXACT = 1e-8  # relative to its largest entry: the student's forward output equals the reference's


def float_dtypes(value: Any) -> set[np.dtype]:
    """The dtypes of the float arrays inside a plain value (tuples, lists, dicts, at any depth)."""
    if isinstance(value, np.ndarray):
        return {value.dtype} if value.dtype.kind == "f" else set()
    if isinstance(value, (tuple, list)):
        return set().union(*(float_dtypes(v) for v in value)) if value else set()
    if isinstance(value, dict):
        return set().union(*(float_dtypes(v) for v in value.values())) if value else set()
    return set()


def forward_is_right(
    out: Any, expected: np.ndarray, dtype: Any, cache: Any = None, tol: float = FORWARD_EXACT
) -> bool:
    """True when the student's forward output has ``expected``'s shape, ``dtype`` and values, and the
    float arrays of its ``cache`` keep ``dtype`` too (a float64 mask in a float32 cache is a forward bug)."""
    if not isinstance(out, np.ndarray) or out.shape != np.shape(expected) or out.dtype != np.dtype(dtype):
        return False
    if float_dtypes(cache) - {np.dtype(dtype)}:
        return False
    expected = np.asarray(expected, dtype=np.float64)
    out64 = out.astype(np.float64)
    if not np.all(np.isfinite(out64)):
        return False
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-12)
    return float(np.max(np.abs(out64 - expected), initial=0.0)) / scale <= tol


REPAIR_DISTANCE = 1.0  # a cache entry further than this (relative) from every trusted value is left as it is


def repair_cache(cache: Any, trusted: dict[str, np.ndarray], dtype: Any) -> Any:
    """The student's cache with every float array replaced by the trusted value it stands for.

    A wrong forward pass leaves wrong values in a cache whose layout only the student knows. Each
    float array of the cache (at any depth of tuples, lists and dicts) is matched, by value, to the
    nearest trusted intermediate of the same size (e.g. the reference's ``x_hat``, ``inv_std``,
    ``gamma``), which replaces it, reshaped to the entry's shape and cast to ``dtype`` (what a correct
    forward pass keeps). Entries that are not float arrays (modes, eps, counts) stay as they are.
    The backward pass then sees the cache a correct forward pass with the student's layout would
    have produced, so it is judged on its own.
    """
    if isinstance(cache, np.ndarray):
        if cache.dtype.kind != "f" or cache.size == 0:
            return cache
        leaf = cache.astype(np.float64)
        best, best_distance = None, REPAIR_DISTANCE
        for value in trusted.values():
            value = np.asarray(value, dtype=np.float64)
            if value.size != leaf.size:
                continue
            value = value.reshape(leaf.shape)
            scale = max(float(np.max(np.abs(value), initial=0.0)), 1e-12)
            distance = float(np.max(np.abs(leaf - value), initial=0.0)) / scale
            if distance < best_distance:
                best, best_distance = value, distance
        return cache if best is None else best.astype(dtype)
    if isinstance(cache, (tuple, list)):
        return type(cache)(repair_cache(item, trusted, dtype) for item in cache)
    if isinstance(cache, dict):
        return {key: repair_cache(item, trusted, dtype) for key, item in cache.items()}
    return cache


class Caches(list):
    """The caches a backward pass is judged on; ``forward_right`` says whether the forward output was right."""

    forward_right: bool = False


def backward_caches(
    student: Any,
    name: str,
    inputs: tuple,
    expected_out: np.ndarray,
    contract: Any,
    trusted: dict[str, np.ndarray],
    dtype: Any,
    documented: bool = False,
) -> tuple[Any, list[Any]]:
    """``(out, caches)``: the student's forward output and the caches its backward pass is judged on.

    When the student's forward pass is right (output equal to ``expected_out``, dtype ``dtype``), its
    own cache, and when the notebook documents the cache (``documented``: e.g. ``(x, w, b)``) also that
    ``contract``: a forward whose cache breaks the documented contract pays in its own task
    (:func:`check_cache_contract`), not through the student's correct backward. Otherwise (raising or
    silently wrong) also its cache repaired with the trusted values (:func:`repair_cache`) and the
    ``contract`` (computed by the reference forward): the backward pass keeps its points when it is
    right on any of them, so no forward bug costs a backward point, whatever the cache layout.
    """
    out, cache = forward_for_backward(student, name, inputs, contract)
    if out is not None and forward_is_right(out, expected_out, dtype, cache):
        right = Caches([cache] if not documented or equal_structure(cache, contract) else [cache, contract])
        right.forward_right = True
        return out, right
    caches = [cache]
    if out is not None:
        caches.append(repair_cache(cache, trusted, dtype))
    caches.append(contract)
    unique = Caches()
    for candidate in caches:
        if not any(equal_structure(candidate, seen) for seen in unique):
            unique.append(candidate)
    return out, unique


def check_on_caches(caches: list[Any], check: Callable[[Any], Any], forward: str) -> Any:
    """Run ``check(cache)`` on each cache in turn; pass on the first that passes.

    When all fail, the failure on the student's own cache is raised; with more than one cache the
    message adds that the forward pass is wrong too (so the student fixes that first).
    """
    first: BaseException | None = None
    for cache in caches:
        try:
            return check(cache)
        except (GradeFailure, StudentError) as exc:
            first = first or exc
    assert first is not None
    if len(caches) > 1 and isinstance(first, GradeFailure) and getattr(caches, "forward_right", False):
        raise GradeFailure(f"{first} (checked on your {forward} cache and on the cache the notebook documents)") \
            from None
    if len(caches) > 1 and isinstance(first, GradeFailure):
        raise GradeFailure(
            f"{first} (checked on your {forward} cache and on the cache of a correct {forward}; "
            f"{forward} is wrong too: fix it first)"
        ) from None
    raise first


# -- forward passes: the cache they return follows the documented contract ---------------------


def seed_student_numpy(student: Any, seed: int) -> bool:
    """``np.random.seed(seed)`` inside the submission's process (its global numpy stream); False when the
    submission has no ``np``. Lets a check change the global random state between two student calls."""
    try:
        random = student.attr(student.get("np"), "random")
        student.method(random, "seed", int(seed))
    except (StudentError, GradeFailure, TypeError, AttributeError):
        return False
    return True


def grads_match(grads: Any, expected: tuple, tol: float = 1e-8) -> bool:
    """True when ``grads`` (one array or a tuple of them) has ``expected``'s shapes and values."""
    if not isinstance(grads, (tuple, list)):
        grads = (grads,)
    if len(grads) != len(expected):
        return False
    for got, exp in zip(grads, expected, strict=True):
        exp = np.asarray(exp, dtype=np.float64)
        if not isinstance(got, np.ndarray) or got.shape != exp.shape or got.dtype.kind not in "biuf":
            return False
        got = got.astype(np.float64)
        if not np.all(np.isfinite(got)):
            return False
        scale = max(float(np.max(np.abs(exp), initial=0.0)), 1e-12)
        if float(np.max(np.abs(got - exp), initial=0.0)) / scale > tol:
            return False
    return True


def check_cache_contract(
    student: Any,
    forward: str,
    backward: str,
    inputs: tuple,
    dout: np.ndarray,
    contract: Any,
    reference_backward: Callable[[np.ndarray, Any], Any],
    documented: str,
) -> None:
    """The cache of the student's ``forward(*inputs)`` works with a backward pass, as the notebook documents it.

    The cache passes when the student's own ``backward`` gives the right gradients on it (a consistent
    layout of the student's own) or the reference backward does (the documented layout). It fails when
    neither does but the student's backward is right on the documented ``contract``: the backward follows
    the documentation and the forward's cache does not, so the forward pays, here. When the student's
    backward is wrong on every cache nothing is concluded (the backward task reports that).
    """
    out, cache = unpack(forward, student.call(forward, *inputs), 2)
    expected = reference_backward(dout, contract)
    expected = tuple(expected) if isinstance(expected, (tuple, list)) else (expected,)

    def own(on: Any) -> bool:
        try:
            return grads_match(student.call(backward, dout, on), expected)
        except (StudentError, GradeFailure):
            return False

    if own(cache):
        return
    try:
        if grads_match(reference_backward(dout, cache), expected):
            return
    except Exception:  # noqa: BLE001 - the student's cache may have any layout
        pass
    expect(not own(contract),
           f"the cache {forward} returns does not follow the documented contract: your {backward} gives the "
           f"right gradients on the documented cache but not on yours; return the cache {documented}")
