"""Hidden graders of notebook 01_layers: affine, ReLU and softmax loss.

Every backward test obtains its cache from the student's own forward pass (or,
when that forward raises, from the cache contract the notebook documents) but
compares the gradients against numerical gradients of the *reference* forward
pass, so a bug in a forward function costs points only in its own task.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from grader_tests.checks import (
    as_array,
    backward_caches,
    check_array,
    check_cache_contract,
    check_close,
    check_on_caches,
    equal_structure,
    expect,
    numeric_gradient,
    unpack,
)

# ---------------------------------------------------------------------------
# helpers (trusted side)


def away_from_zero(x: np.ndarray, margin: float = 1e-2) -> np.ndarray:
    """Push entries of ``x`` out of ``(-margin, margin)`` (numerical gradients of ReLU need it)."""
    return np.where(np.abs(x) < margin, x + np.where(x >= 0, margin, -margin), x)


AFFINE_SHAPES_2D = [(4, 6, 3), (7, 5, 9), (1, 8, 2)]  # (N, D, M)
AFFINE_SHAPES_ND = [((3, 2, 4), 5), ((5, 3, 2, 2), 3), ((2, 7, 3), 4)]  # (x shape, M)


def affine_inputs(rng: np.random.Generator, x_shape: tuple[int, ...], m: int, dtype: Any = np.float64):
    d = int(np.prod(x_shape[1:]))
    x = rng.normal(size=x_shape).astype(dtype)
    w = rng.normal(size=(d, m)).astype(dtype)
    b = rng.normal(size=m).astype(dtype)
    return x, w, b


# ---------------------------------------------------------------------------
# affine_forward


@pytest.mark.task("affine_forward")
def test_affine_forward_matches_reference_on_2d_inputs(student, ref, rng):
    for n, d, m in AFFINE_SHAPES_2D:
        x, w, b = affine_inputs(rng, (n, d), m)
        out, _ = unpack("affine_forward", student.call("affine_forward", x, w, b), 2)
        check_array("out", out, ref.affine_forward(x, w, b)[0], 1e-10,
                    "out = x @ w + b, with b added to every row")


@pytest.mark.task("affine_forward")
def test_affine_forward_flattens_each_sample(student, ref, rng):
    for x_shape, m in AFFINE_SHAPES_ND:
        x, w, b = affine_inputs(rng, x_shape, m)
        out, _ = unpack("affine_forward", student.call("affine_forward", x, w, b), 2)
        check_array("out for inputs of shape (N, d1, d2, ...)", out, ref.affine_forward(x, w, b)[0], 1e-10,
                    "flatten x to (N, D) with x.reshape(N, -1) so that row i is sample i")


@pytest.mark.task("affine_forward")
def test_affine_forward_keeps_float32(student, ref, rng):
    x, w, b = affine_inputs(rng, (6, 2, 5), 4, np.float32)
    out, _ = unpack("affine_forward", student.call("affine_forward", x, w, b), 2)
    expected = ref.affine_forward(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64))[0]
    check_array("out (float32 inputs)", out, expected, 1e-5, "out = x @ w + b", dtype=np.float32)


@pytest.mark.task("affine_forward")
@pytest.mark.guard
def test_affine_forward_does_not_modify_inputs(student, rng):
    x, w, b = affine_inputs(rng, (4, 3, 2), 5)
    hx, hw, hb = student.put(x), student.put(w), student.put(b)
    student.call("affine_forward", hx, hw, hb)
    for name, handle, original in (("x", hx, x), ("w", hw, w), ("b", hb, b)):
        expect(equal_structure(student.get(handle), original),
               f"affine_forward modified its input {name}: compute a new array instead of changing it in place")


@pytest.mark.task("affine_forward")
@pytest.mark.guard  # a contract check: it earns credit only beside a passed correctness check
def test_affine_forward_cache_follows_the_documented_contract(student, ref, rng):
    for x_shape, m in (((5, 6), 4), ((3, 2, 4), 5)):
        x, w, b = affine_inputs(rng, x_shape, m)
        dout = rng.normal(size=(x_shape[0], m))
        check_cache_contract(student, "affine_forward", "affine_backward", (x, w, b), dout, (x, w, b),
                             ref.affine_backward, "(x, w, b), with x as it came in (not flattened)")


# ---------------------------------------------------------------------------
# affine_backward


AFFINE_HINTS = (
    "dx = dout @ w.T, reshaped back to the shape of x",
    "dw = x_flat.T @ dout, with x flattened to (N, D)",
    "db sums dout over the batch axis (axis 0)",
)


def affine_caches(student, ref, x, w, b) -> tuple[Any, list[Any]]:
    """The student's affine_forward output and the caches affine_backward is judged on."""
    x64, w64, b64 = (a.astype(np.float64) for a in (x, w, b))
    expected_out = ref.affine_forward(x64, w64, b64)[0]
    trusted = {"x": x64, "w": w64, "b": b64, "out": expected_out}
    return backward_caches(student, "affine_forward", (x, w, b), expected_out, (x, w, b), trusted, x.dtype,
                           documented=True)


def check_affine_backward(student, ref, x, w, b, dout, tol, label=""):
    _, caches = affine_caches(student, ref, x, w, b)
    fwd = ref.affine_forward
    expected = (
        numeric_gradient(lambda z: fwd(z, w, b)[0], x, dout),
        numeric_gradient(lambda z: fwd(x, z, b)[0], w, dout),
        numeric_gradient(lambda z: fwd(x, w, z)[0], b, dout),
    )

    def check(cache):
        grads = unpack("affine_backward", student.call("affine_backward", dout, cache), 3)
        for name, got, exp, hint in zip(("dx", "dw", "db"), grads, expected, AFFINE_HINTS, strict=True):
            check_array(name + label, got, exp, tol, hint)

    check_on_caches(caches, check, "affine_forward")


@pytest.mark.task("affine_backward")
def test_affine_backward_matches_numeric_gradient(student, ref, rng):
    for n, d, m in AFFINE_SHAPES_2D:
        x, w, b = affine_inputs(rng, (n, d), m)
        dout = rng.normal(size=(n, m))
        check_affine_backward(student, ref, x, w, b, dout, 1e-7)


@pytest.mark.task("affine_backward")
def test_affine_backward_multidimensional_input(student, ref, rng):
    for x_shape, m in AFFINE_SHAPES_ND:
        x, w, b = affine_inputs(rng, x_shape, m)
        dout = rng.normal(size=(x_shape[0], m))
        check_affine_backward(student, ref, x, w, b, dout, 1e-7, " (inputs of shape (N, d1, d2, ...))")


@pytest.mark.task("affine_backward")
def test_affine_backward_keeps_float32(student, ref, rng):
    x, w, b = affine_inputs(rng, (5, 3, 4), 6, np.float32)
    dout = rng.normal(size=(5, 6)).astype(np.float32)
    _, caches = affine_caches(student, ref, x, w, b)
    x64, w64, b64, d64 = (a.astype(np.float64) for a in (x, w, b, dout))
    expected = ref.affine_backward(d64, ref.affine_forward(x64, w64, b64)[1])

    def check(cache):
        grads = unpack("affine_backward", student.call("affine_backward", dout, cache), 3)
        for name, got, exp, hint in zip(("dx", "dw", "db"), grads, expected, AFFINE_HINTS, strict=True):
            check_array(f"{name} (float32 inputs)", got, exp, 1e-5, hint, dtype=np.float32)

    check_on_caches(caches, check, "affine_forward")


@pytest.mark.task("affine_backward")
@pytest.mark.guard
def test_affine_backward_does_not_modify_inputs(student, ref, rng):
    x, w, b = affine_inputs(rng, (4, 2, 3), 5)
    dout = rng.normal(size=(4, 5))
    _, caches = affine_caches(student, ref, x, w, b)

    def check(cache):
        hdout, hcache = student.put(dout), student.put(cache)
        student.call("affine_backward", hdout, hcache)
        expect(equal_structure(student.get(hdout), dout),
               "affine_backward modified dout in place: compute new arrays instead")
        expect(equal_structure(student.get(hcache), cache),
               "affine_backward modified the cache (x, w or b) in place: compute new arrays instead")

    check_on_caches(caches, check, "affine_forward")


# ---------------------------------------------------------------------------
# relu_forward

RELU_SHAPES = [(5, 7), (3, 4, 2), (11,)]


@pytest.mark.task("relu_forward")
def test_relu_forward_matches_reference(student, ref, rng):
    for shape in RELU_SHAPES:
        x = rng.normal(size=shape)
        out, _ = unpack("relu_forward", student.call("relu_forward", x), 2)
        check_array("out", out, ref.relu_forward(x)[0], 1e-12,
                    "out = max(0, x) elementwise (np.maximum, not np.max)")


@pytest.mark.task("relu_forward")
def test_relu_forward_keeps_float32(student, ref, rng):
    x = rng.normal(size=(6, 5)).astype(np.float32)
    out, _ = unpack("relu_forward", student.call("relu_forward", x), 2)
    check_array("out (float32 input)", out, ref.relu_forward(x.astype(np.float64))[0], 1e-6,
                "out = max(0, x) elementwise", dtype=np.float32)


@pytest.mark.task("relu_forward")
@pytest.mark.guard
def test_relu_forward_does_not_modify_input(student, rng):
    x = rng.normal(size=(6, 4))
    hx = student.put(x)
    student.call("relu_forward", hx)
    expect(equal_structure(student.get(hx), x),
           "relu_forward modified its input x in place (e.g. x[x < 0] = 0): build a new array instead")


@pytest.mark.task("relu_forward")
@pytest.mark.guard  # a contract check: it earns credit only beside a passed correctness check
def test_relu_forward_cache_follows_the_documented_contract(student, ref, rng):
    for shape in ((6, 5), (3, 4, 2)):
        x = away_from_zero(rng.normal(size=shape))
        check_cache_contract(student, "relu_forward", "relu_backward", (x,), rng.normal(size=shape), x,
                             ref.relu_backward, "x itself (the input, same shape)")


# ---------------------------------------------------------------------------
# relu_backward


def relu_caches(student, ref, x) -> tuple[Any, list[Any]]:
    """The student's relu_forward output and the caches relu_backward is judged on."""
    x64 = x.astype(np.float64)
    expected_out = ref.relu_forward(x64)[0]
    return backward_caches(student, "relu_forward", (x,), expected_out, x, {"x": x64}, x.dtype, documented=True)


@pytest.mark.task("relu_backward")
def test_relu_backward_matches_numeric_gradient(student, ref, rng):
    for shape in RELU_SHAPES:
        x = away_from_zero(rng.normal(size=shape))
        dout = rng.normal(size=shape)
        _, caches = relu_caches(student, ref, x)
        expected = numeric_gradient(lambda z: ref.relu_forward(z)[0], x, dout)

        def check(cache, dout=dout, expected=expected):
            dx = student.call("relu_backward", dout, cache)
            check_array("dx", dx, expected, 1e-7, "dx = dout where x > 0, and 0 where x <= 0")

        check_on_caches(caches, check, "relu_forward")


@pytest.mark.task("relu_backward")
def test_relu_backward_keeps_float32(student, ref, rng):
    x = away_from_zero(rng.normal(size=(7, 3))).astype(np.float32)
    dout = rng.normal(size=(7, 3)).astype(np.float32)
    _, caches = relu_caches(student, ref, x)
    x64, d64 = x.astype(np.float64), dout.astype(np.float64)
    expected = ref.relu_backward(d64, ref.relu_forward(x64)[1])

    def check(cache):
        dx = student.call("relu_backward", dout, cache)
        check_array("dx (float32 inputs)", dx, expected, 1e-6, "dx = dout * (x > 0)", dtype=np.float32)

    check_on_caches(caches, check, "relu_forward")


@pytest.mark.task("relu_backward")
def test_relu_backward_is_zero_at_exactly_zero(student, ref, rng):
    x = rng.normal(size=(6, 5))
    x[rng.random(size=x.shape) < 0.4] = 0.0
    x[0, 0] = 0.0
    dout = rng.normal(size=x.shape)
    _, caches = relu_caches(student, ref, x)

    def check(cache):
        dx = as_array("dx", student.call("relu_backward", dout, cache), x.shape)
        at_zero = x == 0
        expect(bool(np.all(dx[at_zero] == 0)),
               f"dx is not 0 at {int(np.count_nonzero(dx[at_zero]))} entries where x == 0 exactly: the docstring "
               "asks for 0 there (use x > 0, not x >= 0)")
        check_array("dx (inputs with exact zeros)", dx, dout * (x > 0), 1e-12, "dx = dout * (x > 0)")

    check_on_caches(caches, check, "relu_forward")


@pytest.mark.task("relu_backward")
@pytest.mark.guard
def test_relu_backward_does_not_modify_inputs(student, ref, rng):
    x = away_from_zero(rng.normal(size=(5, 6)))
    dout = rng.normal(size=(5, 6))
    _, caches = relu_caches(student, ref, x)

    def check(cache):
        hdout, hcache = student.put(dout), student.put(cache)
        student.call("relu_backward", hdout, hcache)
        expect(equal_structure(student.get(hdout), dout),
               "relu_backward modified dout in place (e.g. dout[x <= 0] = 0): build a new array instead")
        expect(equal_structure(student.get(hcache), cache), "relu_backward modified its cache in place")

    check_on_caches(caches, check, "relu_forward")


# ---------------------------------------------------------------------------
# softmax_loss


def softmax_inputs(rng: np.random.Generator, n: int, c: int, scale: float, dtype: Any = np.float64):
    x = (scale * rng.normal(size=(n, c))).astype(dtype)
    y = rng.integers(0, c, size=n)
    return x, y


def loss_hint(actual: Any, expected: float, n: int) -> str:
    """A hint for a wrong loss that names the usual causes, without values."""
    try:
        ratio = float(actual) / expected
    except (TypeError, ValueError, ZeroDivisionError):
        return "loss = -mean over samples of the log-probability of the correct class"
    if abs(ratio - n) < 1e-3 * n and n > 1:
        return "the loss looks summed over the samples: average it (divide by N)"
    if abs(ratio + 1) < 1e-3:
        return "the sign is wrong: the loss is the NEGATIVE mean log-probability"
    return "loss = -mean over samples of log softmax(x_i)[y_i]"


def check_loss(student, ref, x, y, tol, label=""):
    result = unpack("softmax_loss", student.call("softmax_loss", x, y), 2)
    loss, dx = result
    expected_loss, expected_dx = ref.softmax_loss(x.astype(np.float64), y)
    if isinstance(loss, np.ndarray) and loss.size == 1:
        loss = loss.reshape(())
    check_close("loss" + label, loss, float(expected_loss), tol, loss_hint(loss, float(expected_loss), x.shape[0]))
    return dx, expected_dx


SOFTMAX_SHAPES = [(8, 10), (5, 3), (1, 7), (20, 2)]  # (N, C)


@pytest.mark.task("softmax_loss")
def test_softmax_loss_value_matches_reference(student, ref, rng):
    for n, c in SOFTMAX_SHAPES:
        for scale in (1e-3, 2.0):
            x, y = softmax_inputs(rng, n, c, scale)
            check_loss(student, ref, x, y, 1e-9)


@pytest.mark.task("softmax_loss")
def test_softmax_loss_gradient_matches_numeric_gradient(student, ref, rng):
    for n, c in SOFTMAX_SHAPES:
        x, y = softmax_inputs(rng, n, c, 1.5)
        _, dx = unpack("softmax_loss", student.call("softmax_loss", x, y), 2)
        expected = numeric_gradient(lambda z, y=y: np.asarray(ref.softmax_loss(z, y)[0]), x, np.asarray(1.0))
        check_array("dx", dx, expected, 1e-7,
                    "dx = (softmax probabilities - one-hot labels) / N")


def softmax_dx_hint(dx: Any, expected: np.ndarray, n: int, otherwise: str) -> str:
    """The hint for a wrong dx: "divide by N" when it is exactly N times too large, else ``otherwise``."""
    if isinstance(dx, np.ndarray) and dx.shape == expected.shape and np.all(np.isfinite(dx)) and n > 1:
        scale = max(float(np.max(np.abs(expected))), 1e-12)
        if float(np.max(np.abs(dx / n - expected))) / scale < 1e-6:
            return "dx is N times too large: the loss is the mean over the N samples, so divide dx by N"
    return otherwise


@pytest.mark.task("softmax_loss")
def test_softmax_loss_is_stable_for_large_scores(student, ref, rng):
    for scale in (1e3, 1e5):
        for n, c in ((6, 10), (4, 3)):
            x, y = softmax_inputs(rng, n, c, scale)
            dx, expected_dx = check_loss(student, ref, x, y, 1e-9, f" for scores of magnitude {scale:.0e}")
            check_array(f"dx for scores of magnitude {scale:.0e}", dx, expected_dx, 1e-9,
                        softmax_dx_hint(dx, expected_dx, n, "subtract the row maximum before exponentiating and "
                                        "compute log-probabilities with log-sum-exp (np.log of an underflowed "
                                        "probability is -inf)"))


@pytest.mark.task("softmax_loss")
def test_softmax_loss_keeps_float32(student, ref, rng):
    x, y = softmax_inputs(rng, 9, 6, 3.0, np.float32)
    dx, expected_dx = check_loss(student, ref, x, y, 1e-5, " (float32 scores)")
    check_array("dx (float32 scores)", dx, expected_dx, 1e-5,
                "dx = (probabilities - one-hot) / N", dtype=np.float32)


@pytest.mark.task("softmax_loss")
@pytest.mark.guard
def test_softmax_loss_does_not_modify_inputs(student, rng):
    x, y = softmax_inputs(rng, 6, 5, 2.0)
    hx, hy = student.put(x), student.put(y)
    student.call("softmax_loss", hx, hy)
    expect(equal_structure(student.get(hx), x),
           "softmax_loss modified the scores x in place (e.g. x -= x.max(...)): use a new array")
    expect(equal_structure(student.get(hy), y), "softmax_loss modified the labels y in place")
