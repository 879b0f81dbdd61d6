"""Hidden graders of notebook 02_normalization: batch norm, layer norm, dropout.

Backward tests get the cache from the student's own forward pass and compare
against numerical gradients of the *reference* forward pass. When the
student's forward is a real attempt but slightly wrong (its cache may carry the
error), the gradients of the student's own forward also count, so a forward bug
costs points in the forward task only (see ``expected_norm_gradients``).
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
    check_on_caches,
    equal_structure,
    expect,
    float_dtypes,
    numeric_gradient,
    record,
    seed_student_numpy,
    unpack,
)

# ---------------------------------------------------------------------------
# helpers (trusted side)


def norm_inputs(rng: np.random.Generator, n: int, d: int, dtype: Any = np.float64, min_std: float = 0.5):
    """Features with different means and scales, random gamma (some negative) and beta.

    Every feature (over the batch) and every sample (over its features) has a standard deviation of
    at least ``min_std``: a nearly constant column makes the numerical gradient of a normalisation
    inaccurate. Backward tests use ``min_std=2`` so that ``eps`` changes the gradient by less than
    1e-6 relative (a forgotten ``eps`` in the forward pass then costs points only there).
    """
    while True:
        z = rng.normal(size=(n, d))
        if n >= 2:  # exact per-feature standard deviation = scale
            z = (z - z.mean(axis=0)) / np.maximum(z.std(axis=0), 1e-3)
        x = z * rng.uniform(min_std, max(6.0, 2 * min_std), size=d) + rng.uniform(-10.0, 10.0, size=d)
        if (n < 2 or x.std(axis=0).min() >= 0.99 * min_std) and (d < 2 or x.std(axis=1).min() >= min_std):
            break
    gamma = rng.uniform(0.5, 2.0, size=d) * rng.choice([-1.0, 1.0], size=d)
    beta = rng.normal(size=d)
    return x.astype(dtype), gamma.astype(dtype), beta.astype(dtype)


# (N, D), not square. BatchNorm needs N >= 3 and LayerNorm D >= 3 for a meaningful gradient check:
# with two values the normalised output is +-1 whatever the input, and its gradient is ~0.
BN_SHAPES = [(6, 4), (10, 3), (3, 8), (4, 2)]
LN_SHAPES = [(6, 4), (10, 3), (3, 8), (2, 5)]

# ---------------------------------------------------------------------------
# batchnorm_forward

BN_AXIS_HINT = "normalise every feature (column) with the mean and biased variance over the batch (axis 0)"


@pytest.mark.task("batchnorm_forward")
def test_batchnorm_forward_train_standardises_features(student, ref, rng):
    for n, d in BN_SHAPES:
        x, _, _ = norm_inputs(rng, n, d)
        param = {"mode": "train", "eps": 1e-5, "momentum": 0.9}
        out, _ = unpack("batchnorm_forward", student.call("batchnorm_forward", x, np.ones(d), np.zeros(d), param), 2)
        out = as_array("out", out, (n, d))
        expect(bool(np.all(np.isfinite(out))), "out contains NaN or inf")
        mean_err = float(np.max(np.abs(out.mean(axis=0))))
        std_err = float(np.max(np.abs(out.std(axis=0) - np.sqrt(x.var(axis=0) / (x.var(axis=0) + 1e-5)))))
        record("feature means of out", mean_err, 1e-6)
        record("feature standard deviations of out", std_err, 1e-4)
        expect(mean_err < 1e-6, f"with gamma = 1, beta = 0 the feature means of out are off by {mean_err:.1e} "
                                f"(need < 1e-06): {BN_AXIS_HINT}")
        expect(std_err < 1e-4, f"with gamma = 1, beta = 0 the feature standard deviations of out are off by "
                               f"{std_err:.1e} (need < 1e-04): {BN_AXIS_HINT}; divide by sqrt(var + eps)")


@pytest.mark.task("batchnorm_forward")
def test_batchnorm_forward_train_matches_reference_with_gamma_beta(student, ref, rng):
    for n, d in BN_SHAPES:
        x, gamma, beta = norm_inputs(rng, n, d)
        eps = float(rng.choice([1e-5, 1e-3]))
        param = {"mode": "train", "eps": eps, "momentum": 0.9}
        out, _ = unpack("batchnorm_forward", student.call("batchnorm_forward", x, gamma, beta, param), 2)
        expected = ref.batchnorm_forward(x, gamma, beta, dict(param))[0]
        check_array("out (train mode)", out, expected, 1e-8,
                    "out = gamma * (x - mean) / sqrt(var + eps) + beta, with bn_param's eps")


@pytest.mark.task("batchnorm_forward")
def test_batchnorm_forward_updates_running_averages_in_train_mode(student, ref, rng):
    scenarios = [
        ({"mode": "train", "momentum": 0.7, "eps": 1e-5}, False),
        ({"mode": "train"}, False),  # defaults: momentum 0.9, eps 1e-5, running stats start at 0
        ({"mode": "train", "momentum": 0.8, "eps": 1e-5}, True),  # given running stats
    ]
    for base, given in scenarios:
        n, d = 7, 4
        param = dict(base)
        if given:
            param["running_mean"] = rng.normal(size=d)
            param["running_var"] = rng.uniform(0.5, 2.0, size=d)
        ref_param = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in param.items()}
        handle = student.put(param)
        for step in range(3):
            x, gamma, beta = norm_inputs(rng, n, d)
            student.call("batchnorm_forward", x, gamma, beta, handle)
            ref.batchnorm_forward(x, gamma, beta, ref_param)
            got = student.get(handle)
            expect(isinstance(got, dict) and "running_mean" in got and "running_var" in got,
                   "train mode should store running_mean and running_var into bn_param")
            where = f" after {step + 1} training call{'s' if step else ''}"
            where += " (bn_param without momentum: default 0.9)" if "momentum" not in base else ""
            check_array("bn_param['running_mean']" + where, got["running_mean"], ref_param["running_mean"], 1e-8,
                        "running = momentum * running + (1 - momentum) * batch mean")
            check_array("bn_param['running_var']" + where, got["running_var"], ref_param["running_var"], 1e-8,
                        "running = momentum * running + (1 - momentum) * batch variance (biased, np.var)")


@pytest.mark.task("batchnorm_forward")
def test_batchnorm_forward_test_mode_uses_running_averages(student, ref, rng):
    for n, d in ((6, 4), (1, 5)):
        x, gamma, beta = norm_inputs(rng, n, d)
        running_mean = rng.normal(size=d) * 3
        running_var = rng.uniform(0.5, 4.0, size=d)
        param = {"mode": "test", "eps": 1e-5, "momentum": 0.9,
                 "running_mean": running_mean, "running_var": running_var}
        handle = student.put(param)
        out, _ = unpack("batchnorm_forward", student.call("batchnorm_forward", x, gamma, beta, handle), 2)
        expected = ref.batchnorm_forward(x, gamma, beta, dict(param))[0]
        check_array("out (test mode)", out, expected, 1e-8,
                    "test mode normalises with bn_param's running_mean and running_var, not the batch statistics")
        got = student.get(handle)
        for key, original in (("running_mean", running_mean), ("running_var", running_var)):
            expect(isinstance(got, dict) and key in got, f"bn_param should still hold {key} after test mode")
            check_array(f"bn_param['{key}'] after a test-mode call", got[key], original, 1e-12,
                        "test mode must not change the running averages")


def large_mean_inputs(rng: np.random.Generator, n: int, d: int, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Data whose features (axis 0) or samples (axis 1) have a mean near +-1e6 and a spread of about 1:
    the variance as E[x^2] - E[x]^2 then loses about 4 of its digits (catastrophic cancellation).

    Returns ``(x, centred)``: ``centred`` is the same data without the offsets (means near 0), which a
    normalisation maps to the same output, so a wrong output on ``centred`` too is another bug.
    """
    offsets = rng.uniform(0.5e6, 2e6, size=d if axis == 0 else (n, 1)) * rng.choice([-1.0, 1.0])
    centred = rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0)
    return centred + offsets, centred


VARIANCE_HINT = ("compute the variance from centred values, mean((x - mean)**2) or np.var, not as "
                 "mean(x**2) - mean**2, which cancels catastrophically when the mean is large")


@pytest.mark.task("batchnorm_forward")
def test_batchnorm_forward_variance_is_accurate_for_large_means(student, ref, rng):
    n, d = 12, 5
    x, centred = large_mean_inputs(rng, n, d, axis=0)
    gamma, beta = np.ones(d), np.zeros(d)
    param = {"mode": "train", "eps": 1e-5, "momentum": 0.9}
    expected = ref.batchnorm_forward(x, gamma, beta, dict(param))[0]
    # the same features without their large means first: a failure there is not cancellation
    out, _ = unpack("batchnorm_forward", student.call("batchnorm_forward", centred, gamma, beta, dict(param)), 2)
    check_array("out for features with a mean near 0", out, expected, 1e-7, BN_AXIS_HINT)
    out, _ = unpack("batchnorm_forward", student.call("batchnorm_forward", x, gamma, beta, dict(param)), 2)
    check_array("out for features with a mean near 1e6", out, expected, 1e-7, VARIANCE_HINT)


@pytest.mark.task("batchnorm_forward")
def test_batchnorm_forward_keeps_float32(student, ref, rng):
    x, gamma, beta = norm_inputs(rng, 8, 5, np.float32)
    param = {"mode": "train", "eps": 1e-5, "momentum": 0.9}
    out, _ = unpack("batchnorm_forward", student.call("batchnorm_forward", x, gamma, beta, param), 2)
    x64, g64, b64 = (a.astype(np.float64) for a in (x, gamma, beta))
    expected = ref.batchnorm_forward(x64, g64, b64, dict(param))[0]
    check_array("out (float32 inputs)", out, expected, 1e-4, BN_AXIS_HINT, dtype=np.float32)


@pytest.mark.task("batchnorm_forward")
@pytest.mark.guard
def test_batchnorm_forward_does_not_modify_inputs(student, rng):
    x, gamma, beta = norm_inputs(rng, 5, 3)
    hx, hg, hb = student.put(x), student.put(gamma), student.put(beta)
    for mode in ("train", "test"):
        param = {"mode": mode, "running_mean": np.zeros(3), "running_var": np.ones(3)}
        student.call("batchnorm_forward", hx, hg, hb, param)
        for name, handle, original in (("x", hx, x), ("gamma", hg, gamma), ("beta", hb, beta)):
            expect(equal_structure(student.get(handle), original),
                   f"batchnorm_forward ({mode} mode) modified its input {name} in place: compute new arrays")


# ---------------------------------------------------------------------------
# batchnorm_backward / layernorm_backward (shared checks)


def norm_hints(kind: str) -> tuple[str, str, str]:
    axis = "the batch (axis 0)" if kind == "batchnorm" else "the features of each sample (axis 1)"
    return (
        f"dx must include the paths through the mean and the variance, summed over {axis}",
        "dgamma = sum over the samples (axis 0) of dout * x_hat",
        "dbeta = sum over the samples (axis 0) of dout",
    )


def norm_param(kind: str) -> dict:
    return {"mode": "train", "eps": 1e-5, "momentum": 0.9} if kind == "batchnorm" else {"eps": 1e-5}


FORWARD_MATCH = 1e-8  # the student's forward output equals the reference's
REAL_ATTEMPT = 0.3  # the student's forward output is a genuine attempt (max relative difference)


def forward_error(out: Any, expected: np.ndarray) -> float:
    """``max|out - expected| / max|expected|``; inf for wrong shapes, NaN, or a constant output."""
    if not isinstance(out, np.ndarray) or out.shape != expected.shape or out.dtype.kind not in "biuf":
        return float("inf")
    out = out.astype(np.float64)
    if not np.all(np.isfinite(out)) or (out.size > 1 and float(np.ptp(out)) == 0.0):
        return float("inf")
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-12)
    return float(np.max(np.abs(out - expected), initial=0.0)) / scale


def same_layout(a: Any, b: Any) -> bool:
    """True when two caches have the same structure (types, array shapes)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(same_layout(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_layout(a[k], b[k]) for k in a)
    return type(a) is type(b)


def as_float64(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(np.float64)
    if isinstance(value, (tuple, list)):
        return type(value)(as_float64(v) for v in value)
    if isinstance(value, dict):
        return {k: as_float64(v) for k, v in value.items()}
    return value


def expected_norm_gradients(student, ref, kind: str, x, gamma, beta, dout, out, cache, reference_grads):
    """What a correct backward may return for the cache the student's forward produced.

    Fault isolation without giving away points:

    * the student's forward output equals the reference output: only the reference gradients
      (``reference_grads``, trusted) count;
    * the forward is a real attempt (within REAL_ATTEMPT of the reference, not a constant) but
      wrong: the numerical gradients of the student's OWN forward also count, and so do the
      reference backward's results on the student's cache when it has the reference's layout
      (a correct backward fed by a slightly wrong forward). The forward bug costs points in the
      forward task only;
    * anything else (zeros, constants, wrong shapes): only the reference gradients, so a broken
      forward cannot make a broken backward look right.
    """
    fwd = getattr(ref, f"{kind}_forward")
    x64, g64, b64, d64 = (np.asarray(a, dtype=np.float64) for a in (x, gamma, beta, dout))
    param = norm_param(kind)
    err = forward_error(out, fwd(x64, g64, b64, dict(param))[0])
    candidates = [reference_grads]
    if err <= FORWARD_MATCH or err >= REAL_ATTEMPT:
        return candidates

    def own(x_, g_, b_):
        result = student.call(f"{kind}_forward", x_, g_, b_, dict(param))
        value = result[0] if isinstance(result, (tuple, list)) and result else None
        return as_array(f"{kind}_forward output", value, x_.shape).astype(np.float64)

    candidates.append((
        numeric_gradient(lambda z: own(z, g64, b64), x64, d64),
        numeric_gradient(lambda z: own(x64, z, b64), g64, d64),
        numeric_gradient(lambda z: own(x64, g64, z), b64, d64),
    ))
    ref_cache = fwd(x64, g64, b64, dict(param))[1]
    if same_layout(cache, ref_cache):
        candidates.append(tuple(getattr(ref, f"{kind}_backward")(d64, as_float64(cache))))
    return candidates


def closest(grads: tuple, candidates: list[tuple]) -> tuple:
    """The candidate the student's gradients are closest to (the first one when none is usable)."""
    def distance(expected: tuple) -> float:
        return max(forward_error(g, np.asarray(e, dtype=np.float64)) for g, e in zip(grads, expected, strict=True))
    return min(candidates, key=distance)


def norm_trusted(kind: str, x, gamma, beta, eps: float) -> dict[str, np.ndarray]:
    """The intermediates of a correct forward pass (float64), for :func:`repair_cache`."""
    x, gamma, beta = (np.asarray(a, dtype=np.float64) for a in (x, gamma, beta))
    axis = 0 if kind == "batchnorm" else 1
    mean = x.mean(axis=axis, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=axis, keepdims=True)
    std = np.sqrt(var + eps)
    x_hat = centred / std
    return {
        "x": x, "gamma": gamma, "beta": beta, "mean": mean, "centred": centred, "var": var,
        "var + eps": var + eps, "std": std, "inv_std": 1.0 / std, "x_hat": x_hat, "out": gamma * x_hat + beta,
    }


def norm_caches(student, ref, kind: str, x, gamma, beta) -> tuple[Any, list[Any]]:
    """The student's forward output and the caches its backward pass is judged on (see checks)."""
    param = norm_param(kind)
    fwd = getattr(ref, f"{kind}_forward")
    x64, g64, b64 = (np.asarray(a, dtype=np.float64) for a in (x, gamma, beta))
    expected_out = fwd(x64, g64, b64, dict(param))[0]
    contract = fwd(x, gamma, beta, dict(param))[1]
    trusted = norm_trusted(kind, x, gamma, beta, param["eps"])
    return backward_caches(student, f"{kind}_forward", (x, gamma, beta, dict(param)), expected_out, contract,
                           trusted, x.dtype)


def check_norm_backward(student, ref, kind: str, x, gamma, beta, dout, tol, label=""):
    fwd_name, bwd_name = f"{kind}_forward", f"{kind}_backward"
    param = norm_param(kind)
    out, caches = norm_caches(student, ref, kind, x, gamma, beta)
    fwd = getattr(ref, fwd_name)
    reference_grads = (
        numeric_gradient(lambda z: fwd(z, gamma, beta, dict(param))[0], x, dout),
        numeric_gradient(lambda z: fwd(x, z, beta, dict(param))[0], gamma, dout),
        numeric_gradient(lambda z: fwd(x, gamma, z, dict(param))[0], beta, dout),
    )

    def check(cache):
        grads = unpack(bwd_name, student.call(bwd_name, dout, cache), 3)
        candidates = expected_norm_gradients(student, ref, kind, x, gamma, beta, dout, out, cache, reference_grads)
        expected = closest(grads, candidates)
        for name, got, exp, hint in zip(("dx", "dgamma", "dbeta"), grads, expected, norm_hints(kind), strict=True):
            check_array(name + label, got, exp, tol, hint)

    check_on_caches(caches, check, fwd_name)


def check_norm_backward_float32(student, ref, kind: str, rng):
    x, gamma, beta = norm_inputs(rng, 9, 6, np.float32, min_std=2.0)
    dout = rng.normal(size=(9, 6)).astype(np.float32)
    param = norm_param(kind)
    out, caches = norm_caches(student, ref, kind, x, gamma, beta)
    x64, g64, b64, d64 = (a.astype(np.float64) for a in (x, gamma, beta, dout))
    ref_cache = getattr(ref, f"{kind}_forward")(x64, g64, b64, dict(param))[1]
    reference_grads = getattr(ref, f"{kind}_backward")(d64, ref_cache)

    def check(cache):
        grads = unpack(f"{kind}_backward", student.call(f"{kind}_backward", dout, cache), 3)
        candidates = expected_norm_gradients(student, ref, kind, x, gamma, beta, dout, out, cache, reference_grads)
        expected = closest(grads, candidates)
        for name, got, exp, hint in zip(("dx", "dgamma", "dbeta"), grads, expected, norm_hints(kind), strict=True):
            check_array(f"{name} (float32 inputs)", got, exp, 1e-4, hint, dtype=np.float32)

    check_on_caches(caches, check, f"{kind}_forward")


def check_norm_backward_keeps_dout(student, ref, kind: str, rng):
    x, gamma, beta = norm_inputs(rng, 5, 4)
    dout = rng.normal(size=(5, 4))
    caches = norm_caches(student, ref, kind, x, gamma, beta)[1]
    cache = caches[min(1, len(caches) - 1)]  # the student's own, or repaired when its forward is wrong
    hdout, hcache = student.put(dout), student.put(cache)
    student.call(f"{kind}_backward", hdout, hcache)
    expect(equal_structure(student.get(hdout), dout),
           f"{kind}_backward modified dout in place: compute new arrays instead")
    expect(equal_structure(student.get(hcache), cache),
           f"{kind}_backward modified its cache in place: compute new arrays instead")


@pytest.mark.task("batchnorm_backward")
def test_batchnorm_backward_matches_numeric_gradient(student, ref, rng):
    for n, d in BN_SHAPES:
        x, gamma, beta = norm_inputs(rng, n, d, min_std=2.0)
        check_norm_backward(student, ref, "batchnorm", x, gamma, beta, rng.normal(size=(n, d)), 1e-5)


@pytest.mark.task("batchnorm_backward")
def test_batchnorm_backward_larger_batch(student, ref, rng):
    n, d = 16, 3
    x, gamma, beta = norm_inputs(rng, n, d, min_std=2.0)
    dout = rng.normal(size=(n, d)) * rng.uniform(0.1, 10.0, size=d)
    check_norm_backward(student, ref, "batchnorm", x, gamma, beta, dout, 1e-5, " (batch of 16)")


@pytest.mark.task("batchnorm_backward")
def test_batchnorm_backward_keeps_float32(student, ref, rng):
    check_norm_backward_float32(student, ref, "batchnorm", rng)


@pytest.mark.task("batchnorm_backward")
@pytest.mark.guard
def test_batchnorm_backward_does_not_modify_inputs(student, ref, rng):
    check_norm_backward_keeps_dout(student, ref, "batchnorm", rng)


# ---------------------------------------------------------------------------
# layernorm_forward

LN_AXIS_HINT = "normalise every sample (row) with the mean and biased variance of its features (axis 1)"


@pytest.mark.task("layernorm_forward")
def test_layernorm_forward_standardises_each_sample(student, rng):
    for n, d in LN_SHAPES:
        x, _, _ = norm_inputs(rng, n, d)
        out, _ = unpack("layernorm_forward", student.call("layernorm_forward", x, np.ones(d), np.zeros(d),
                                                          {"eps": 1e-5}), 2)
        out = as_array("out", out, (n, d))
        expect(bool(np.all(np.isfinite(out))), "out contains NaN or inf")
        row_var = x.var(axis=1)
        mean_err = float(np.max(np.abs(out.mean(axis=1))))
        std_err = float(np.max(np.abs(out.std(axis=1) - np.sqrt(row_var / (row_var + 1e-5)))))
        record("per-sample means of out", mean_err, 1e-6)
        record("per-sample standard deviations of out", std_err, 1e-4)
        expect(mean_err < 1e-6, f"with gamma = 1, beta = 0 the per-sample means of out are off by {mean_err:.1e} "
                                f"(need < 1e-06): {LN_AXIS_HINT}")
        expect(std_err < 1e-4, f"with gamma = 1, beta = 0 the per-sample standard deviations of out are off by "
                               f"{std_err:.1e} (need < 1e-04): {LN_AXIS_HINT}")


@pytest.mark.task("layernorm_forward")
def test_layernorm_forward_matches_reference_with_gamma_beta(student, ref, rng):
    for n, d in LN_SHAPES:
        x, gamma, beta = norm_inputs(rng, n, d)
        param = {"eps": float(rng.choice([1e-5, 1e-2]))}
        out, _ = unpack("layernorm_forward", student.call("layernorm_forward", x, gamma, beta, param), 2)
        expected = ref.layernorm_forward(x, gamma, beta, dict(param))[0]
        check_array("out", out, expected, 1e-8,
                    "out = gamma * (x - row mean) / sqrt(row var + eps) + beta, with ln_param's eps")
    x, gamma, beta = norm_inputs(rng, 4, 6)
    out, _ = unpack("layernorm_forward", student.call("layernorm_forward", x, gamma, beta, {}), 2)
    check_array("out with an empty ln_param (default eps 1e-5)", out,
                ref.layernorm_forward(x, gamma, beta, {})[0], 1e-8, "use ln_param.get('eps', 1e-5)")


@pytest.mark.task("layernorm_forward")
def test_layernorm_forward_is_independent_of_the_batch(student, rng):
    n, d = 6, 5
    x, gamma, beta = norm_inputs(rng, n, d)
    full, _ = unpack("layernorm_forward", student.call("layernorm_forward", x, gamma, beta, {"eps": 1e-5}), 2)
    full = as_array("out", full, (n, d))
    for i in (0, n - 1):
        alone, _ = unpack("layernorm_forward",
                          student.call("layernorm_forward", x[i:i + 1], gamma, beta, {"eps": 1e-5}), 2)
        check_array("out of a sample normalised alone vs inside a batch", alone, full[i:i + 1], 1e-10,
                    "layer norm uses only the sample's own features: no statistics over the batch, "
                    "no running averages")
    # a mode key (as passed by networks sharing one param dict) must not change anything
    test_out, _ = unpack("layernorm_forward",
                         student.call("layernorm_forward", x, gamma, beta, {"eps": 1e-5, "mode": "test"}), 2)
    check_array("out with ln_param['mode'] = 'test'", test_out, full, 1e-10,
                "layer norm computes the same thing in training and at test time")


@pytest.mark.task("layernorm_forward")
def test_layernorm_forward_variance_is_accurate_for_large_means(student, ref, rng):
    n, d = 5, 12
    x, centred = large_mean_inputs(rng, n, d, axis=1)
    gamma, beta = np.ones(d), np.zeros(d)
    expected = ref.layernorm_forward(x, gamma, beta, {"eps": 1e-5})[0]
    # the same samples without their large means first: a failure there is not cancellation
    out, _ = unpack("layernorm_forward", student.call("layernorm_forward", centred, gamma, beta, {"eps": 1e-5}), 2)
    check_array("out for samples with a mean near 0", out, expected, 1e-7, LN_AXIS_HINT)
    out, _ = unpack("layernorm_forward", student.call("layernorm_forward", x, gamma, beta, {"eps": 1e-5}), 2)
    check_array("out for samples with a mean near 1e6", out, expected, 1e-7, VARIANCE_HINT)


@pytest.mark.task("layernorm_forward")
def test_layernorm_forward_keeps_float32(student, ref, rng):
    x, gamma, beta = norm_inputs(rng, 7, 9, np.float32)
    out, _ = unpack("layernorm_forward", student.call("layernorm_forward", x, gamma, beta, {"eps": 1e-5}), 2)
    x64, g64, b64 = (a.astype(np.float64) for a in (x, gamma, beta))
    expected = ref.layernorm_forward(x64, g64, b64, {"eps": 1e-5})[0]
    check_array("out (float32 inputs)", out, expected, 1e-4, LN_AXIS_HINT, dtype=np.float32)


@pytest.mark.task("layernorm_forward")
@pytest.mark.guard
def test_layernorm_forward_does_not_modify_inputs(student, rng):
    x, gamma, beta = norm_inputs(rng, 5, 4)
    hx, hg, hb = student.put(x), student.put(gamma), student.put(beta)
    student.call("layernorm_forward", hx, hg, hb, {"eps": 1e-5})
    for name, handle, original in (("x", hx, x), ("gamma", hg, gamma), ("beta", hb, beta)):
        expect(equal_structure(student.get(handle), original),
               f"layernorm_forward modified its input {name} in place: compute new arrays")


# ---------------------------------------------------------------------------
# layernorm_backward


@pytest.mark.task("layernorm_backward")
def test_layernorm_backward_matches_numeric_gradient(student, ref, rng):
    for n, d in LN_SHAPES:
        x, gamma, beta = norm_inputs(rng, n, d, min_std=2.0)
        check_norm_backward(student, ref, "layernorm", x, gamma, beta, rng.normal(size=(n, d)), 1e-5)


@pytest.mark.task("layernorm_backward")
def test_layernorm_backward_many_features(student, ref, rng):
    n, d = 3, 16
    x, gamma, beta = norm_inputs(rng, n, d, min_std=2.0)
    dout = rng.normal(size=(n, d)) * rng.uniform(0.1, 10.0, size=(n, 1))
    check_norm_backward(student, ref, "layernorm", x, gamma, beta, dout, 1e-5, " (16 features)")


@pytest.mark.task("layernorm_backward")
def test_layernorm_backward_keeps_float32(student, ref, rng):
    check_norm_backward_float32(student, ref, "layernorm", rng)


@pytest.mark.task("layernorm_backward")
@pytest.mark.guard
def test_layernorm_backward_does_not_modify_inputs(student, ref, rng):
    check_norm_backward_keeps_dout(student, ref, "layernorm", rng)


# ---------------------------------------------------------------------------
# dropout_forward


def positive_input(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any = np.float64) -> np.ndarray:
    """Inputs bounded away from 0, so that ``out != 0`` means "kept"."""
    x = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return x.astype(dtype)


@pytest.mark.task("dropout_forward")
def test_dropout_forward_keeps_fraction_p_and_scales_by_1_over_p(student, rng):
    x = positive_input(rng, (300, 200))
    for p in (0.3, 0.5, 0.8):
        out, _ = unpack("dropout_forward", student.call("dropout_forward", x, {"p": p, "mode": "train"}), 2)
        out = as_array("out", out, x.shape)
        kept = out != 0
        frac = float(kept.mean())
        record(f"kept fraction - p (p = {p})", abs(frac - p), 0.01)
        expect(abs(frac - p) < 0.01,
               f"with p = {p} a fraction {frac:.3f} of the units was kept: p is the probability of KEEPING a unit "
               "(mask = np.random.rand(*x.shape) < p)")
        ratio = out[kept] / x[kept]
        err = float(np.max(np.abs(ratio - 1.0 / p), initial=0.0)) * p
        record(f"kept units vs x / p (p = {p})", err, 1e-9)
        expect(err < 1e-9, f"kept units should equal x / p (inverted dropout); relative error {err:.1e} "
                           "(needs < 1e-09)")


@pytest.mark.task("dropout_forward")
def test_dropout_forward_test_mode_is_identity(student, rng):
    for shape in ((20, 30), (4, 3, 5)):
        x = rng.normal(size=shape)
        for p in (0.25, 0.9):
            out, _ = unpack("dropout_forward", student.call("dropout_forward", x, {"p": p, "mode": "test"}), 2)
            check_array(f"out in test mode (p = {p})", out, x, 1e-15,
                        "inverted dropout returns the input unchanged at test time (no mask, no scaling)")


@pytest.mark.task("dropout_forward")
def test_dropout_forward_seed_makes_mask_reproducible(student, rng):
    x = positive_input(rng, (40, 50))
    outs = []
    for seed in (7, 7, 8):
        out, _ = unpack("dropout_forward",
                        student.call("dropout_forward", x, {"p": 0.5, "mode": "train", "seed": seed}), 2)
        outs.append(as_array("out", out, x.shape))
    expect(np.array_equal(outs[0], outs[1]),
           "two calls with the same seed gave different masks: call np.random.seed(seed) before drawing the mask")
    expect(not np.array_equal(outs[0], outs[2]),
           "different seeds gave the same mask: seed numpy with dropout_param['seed']")
    a, _ = unpack("dropout_forward", student.call("dropout_forward", x, {"p": 0.5, "mode": "train"}), 2)
    b, _ = unpack("dropout_forward", student.call("dropout_forward", x, {"p": 0.5, "mode": "train"}), 2)
    expect(not np.array_equal(as_array("out", a), as_array("out", b)),
           "without a seed two calls gave the same mask: only seed numpy when dropout_param has a 'seed'")


@pytest.mark.task("dropout_forward")
@pytest.mark.parametrize("shape", [(30, 40), (6, 5, 4), (50,)])
def test_dropout_forward_draws_the_documented_mask(student, ref, rng, shape):
    x = positive_input(rng, shape)
    where = f" for x of shape {shape}" if len(shape) != 2 else ""
    for p, seed in ((0.5, int(rng.integers(1, 1000))), (0.8, int(rng.integers(1000, 2000)))):
        param = {"p": p, "mode": "train", "seed": seed}
        out, _ = unpack("dropout_forward", student.call("dropout_forward", x, dict(param)), 2)
        out = as_array("out" + where, out, x.shape)
        expected = ref.dropout_forward(x, dict(param))[0]
        differ = int(np.count_nonzero((out != 0) != (expected != 0)))
        expect(differ == 0,
               f"with a seed, {differ} of {x.size} units were kept or dropped differently from the documented mask"
               f"{where}: after np.random.seed(seed), draw it with exactly np.random.rand(*x.shape) < p (any "
               "shape of x, no other random call first, no np.random.binomial)")


@pytest.mark.task("dropout_forward")
@pytest.mark.guard  # a contract check: it earns credit only beside a passed correctness check
def test_dropout_forward_cache_follows_the_documented_contract(student, ref, rng):
    for mode, shape in (("train", (8, 6)), ("train", (3, 4, 5)), ("test", (5, 4))):
        x = positive_input(rng, shape)
        param = {"p": 0.6, "mode": mode, "seed": int(rng.integers(1, 10**6))}
        contract = ref.dropout_forward(x, dict(param))[1]
        check_cache_contract(student, "dropout_forward", "dropout_backward", (x, dict(param)),
                             rng.normal(size=shape), contract, ref.dropout_backward,
                             "(dropout_param, mask) with the mask that multiplied x, 1/p included (None in test mode)")


@pytest.mark.task("dropout_forward")
def test_dropout_forward_keeps_float32(student, rng):
    x = positive_input(rng, (30, 20), np.float32)
    for mode in ("train", "test"):
        out, cache = unpack("dropout_forward",
                            student.call("dropout_forward", x, {"p": 0.6, "mode": mode, "seed": 3}), 2)
        out = as_array(f"out ({mode} mode)", out, x.shape)
        expect(out.dtype == np.float32,
               f"out ({mode} mode) has dtype {out.dtype} for float32 inputs: give the mask the dtype of x")
        wrong = sorted(str(d) for d in float_dtypes(cache) - {np.dtype(np.float32)})
        expect(not wrong, f"the cache ({mode} mode) holds {', '.join(wrong)} arrays for float32 inputs: give the "
                          "mask the dtype of x (e.g. .astype(x.dtype)), or dropout_backward's dx comes out "
                          f"{', '.join(wrong)}")


@pytest.mark.task("dropout_forward")
@pytest.mark.guard
def test_dropout_forward_does_not_modify_inputs(student, rng):
    x = positive_input(rng, (10, 12))
    hx = student.put(x)
    for mode in ("train", "test"):
        param = {"p": 0.5, "mode": mode, "seed": 1}
        hp = student.put(param)
        student.call("dropout_forward", hx, hp)
        expect(equal_structure(student.get(hx), x),
               f"dropout_forward ({mode} mode) modified its input x in place: return a new array")
        expect(equal_structure(student.get(hp), param),
               f"dropout_forward ({mode} mode) changed dropout_param: leave it as it is")


# ---------------------------------------------------------------------------
# dropout_backward


def dropout_caches(student, ref, x, param: dict) -> tuple[Any, list[Any], np.ndarray]:
    """(student's out, caches to judge dropout_backward on, the exact local gradient d out / d x)."""
    expected_out, contract = ref.dropout_forward(x, dict(param))
    mask = contract[1]
    trusted = {"mask": mask} if mask is not None else {}
    out, caches = backward_caches(student, "dropout_forward", (x, dict(param)), expected_out, contract, trusted,
                                  x.dtype, documented=True)
    local = mask if mask is not None else np.ones_like(x)
    return out, caches, np.asarray(local, dtype=np.float64)


@pytest.mark.task("dropout_backward")
def test_dropout_backward_uses_the_forward_mask(student, ref, rng):
    for p, shape in ((0.3, (12, 10)), (0.75, (5, 4, 6))):
        x = positive_input(rng, shape)
        dout = rng.normal(size=shape)
        _, caches, local = dropout_caches(student, ref, x, {"p": p, "mode": "train", "seed": 11})

        def check(cache, p=p, dout=dout, local=local):
            dx = student.call("dropout_backward", dout, cache)
            check_array(f"dx (p = {p})", dx, dout * local, 1e-10,
                        "dx = dout * mask, with the same mask (including the 1/p) as in the forward pass")

        check_on_caches(caches, check, "dropout_forward")


@pytest.mark.task("dropout_backward")
def test_dropout_backward_reuses_the_cached_mask_without_new_randomness(student, ref, rng):
    """Forward without a seed; the global numpy stream is reseeded before the backward pass, so a backward
    that draws a mask of its own (instead of reading the cache) gets a different one."""
    for p, shape in ((0.4, (10, 12)), (0.7, (4, 5, 3))):
        x = positive_input(rng, shape)
        dout = rng.normal(size=shape)
        before, between = (int(s) for s in rng.integers(1, 2**31 - 1, size=2))
        param = {"p": p, "mode": "train"}
        mask = ((np.random.RandomState(before).rand(*shape) < p) / p).astype(x.dtype)
        seed_student_numpy(student, before)  # the student's forward then draws the same mask as `mask`
        _, caches = backward_caches(student, "dropout_forward", (x, dict(param)), x * mask, (dict(param), mask),
                                    {"mask": mask}, x.dtype, documented=True)

        def check(cache, p=p, dout=dout, mask=mask, between=between):
            seed_student_numpy(student, between)
            dx = student.call("dropout_backward", dout, cache)
            check_array(f"dx (p = {p}, the random stream moved on after the forward pass)", dx, dout * mask, 1e-10,
                        "dx = dout * the mask stored in the cache (1/p included): dropout_backward reads the cache and "
                        "draws no random numbers of its own")

        check_on_caches(caches, check, "dropout_forward")


@pytest.mark.task("dropout_backward")
def test_dropout_backward_test_mode_passes_gradient_through(student, ref, rng):
    x = rng.normal(size=(8, 9))
    dout = rng.normal(size=(8, 9))
    _, caches, _ = dropout_caches(student, ref, x, {"p": 0.4, "mode": "test"})

    def check(cache):
        dx = student.call("dropout_backward", dout, cache)
        check_array("dx in test mode", dx, dout, 1e-15, "in test mode dropout is the identity, so dx = dout")

    check_on_caches(caches, check, "dropout_forward")


@pytest.mark.task("dropout_backward")
def test_dropout_backward_keeps_float32_and_inputs(student, ref, rng):
    x = positive_input(rng, (9, 7), np.float32)
    dout = rng.normal(size=(9, 7)).astype(np.float32)
    _, caches, local = dropout_caches(student, ref, x, {"p": 0.5, "mode": "train", "seed": 5})

    def check(cache):
        hdout = student.put(dout)
        dx = as_array("dx", student.call("dropout_backward", hdout, cache), dout.shape)
        expect(dx.dtype == np.float32, f"dx has dtype {dx.dtype} for float32 inputs: keep the dtype of dout")
        check_array("dx (float32 inputs)", dx, dout.astype(np.float64) * local, 1e-6,
                    "dx = dout * mask, with the same mask as in the forward pass")
        expect(equal_structure(student.get(hdout), dout),
               "dropout_backward modified dout in place: return a new array")

    check_on_caches(caches, check, "dropout_forward")
