"""Hidden graders of the update rules of notebook 04: sgd, sgd_momentum, rmsprop, adam.

Each rule is run for several steps from a non-trivial state, feeding the returned config back in
(as the Solver does); next_w and the state in config are compared with the reference after every step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from grader_tests.checks import as_array, check_close, expect

RULES = {
    "sgd": {"state": (), "defaults": {"learning_rate": 1e-2}},
    "sgd_momentum": {"state": ("velocity",), "defaults": {"learning_rate": 1e-2, "momentum": 0.9}},
    "rmsprop": {"state": ("cache",), "defaults": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8}},
    "adam": {"state": ("m", "v", "t"),
             "defaults": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}},
}

HINTS = {
    "sgd": "next_w = w - learning_rate * dw",
    "sgd_momentum": "v = momentum * v - learning_rate * dw, then next_w = w + v; store v in config['velocity']",
    "rmsprop": "update cache with the current dw**2 first, then step with dw / (sqrt(cache) + epsilon)",
    "adam": "t += 1, then update m and v with the current dw, then bias-correct them with t, then step",
}


def unpack_step(rule: str, value: Any) -> tuple[np.ndarray, dict]:
    expect(isinstance(value, (tuple, list)) and len(value) == 2, f"{rule} should return (next_w, config)")
    next_w, config = value
    expect(isinstance(config, dict), f"{rule} should return the config dict as its second value")
    return next_w, config


def initial_state(rule: str, rng: np.random.Generator, shape: tuple[int, ...]) -> dict:
    if rule == "sgd_momentum":
        return {"velocity": 0.1 * rng.standard_normal(shape)}
    if rule == "rmsprop":
        return {"cache": rng.uniform(0.01, 0.5, shape)}
    if rule == "adam":
        return {"m": 0.1 * rng.standard_normal(shape), "v": rng.uniform(0.01, 0.2, shape),
                "t": int(rng.integers(1, 6))}
    return {}


# next_w is compared relative to the size of the reference step (so rounding in w - step does not
# matter); Adam gets a looser bound because applying epsilon to sqrt(v) instead of sqrt(v_hat)
# (the "efficient" form with a bias-corrected step size, as in the Adam paper) is also correct.
STEP_TOL = {"sgd": 1e-8, "sgd_momentum": 1e-8, "rmsprop": 1e-8, "adam": 1e-3}
STATE_TOL = 1e-8


def check_scaled(what: str, actual: Any, expected: np.ndarray, scale: float, tol: float, hint: str) -> None:
    """max |actual - expected| / scale < tol (scale: the typical size of the quantity)."""
    actual = as_array(what, actual, expected.shape)
    expect(bool(np.all(np.isfinite(actual))), f"{what} contains NaN or inf: {hint}")
    err = float(np.max(np.abs(actual.astype(np.float64) - expected), initial=0.0)) / max(scale, 1e-300)
    expect(err < tol, f"{what} error {err:.1e} relative to its size (needs < {tol:.0e}): {hint}")


def run_and_compare(student, ref, rule: str, w: np.ndarray, grads: list[np.ndarray], config: dict,
                    context: str) -> None:
    ref_config = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in config.items()}
    ref_w = w.copy()
    for step, dw in enumerate(grads, start=1):
        next_w, config = unpack_step(rule, student.call(rule, w.copy(), dw, config))
        prev_w = ref_w
        ref_w, ref_config = getattr(ref, rule)(ref_w.copy(), dw, ref_config)
        where = f"{context}, step {step}"
        scale = float(np.max(np.abs(ref_w - prev_w), initial=0.0))
        check_scaled(f"next_w ({where})", next_w, ref_w, scale, STEP_TOL[rule], HINTS[rule])
        for key in RULES[rule]["state"]:
            expect(key in config, f"config should hold '{key}' after a step ({where})")
            if key == "t":
                expect(config["t"] == ref_config["t"], f"config['t'] should count the steps ({where}): add 1 per call")
            else:
                expected = ref_config[key]
                check_scaled(f"config['{key}'] ({where})", config[key], expected,
                             float(np.max(np.abs(expected), initial=0.0)), STATE_TOL, HINTS[rule])
        w = next_w


def hyperparameters(rule: str, rng: np.random.Generator) -> dict:
    """Non-default hyperparameters, so hard-coded constants are noticed."""
    values = {"learning_rate": float(rng.uniform(0.02, 0.1))}
    if rule == "sgd_momentum":
        values["momentum"] = 0.7
    if rule == "rmsprop":
        values.update(decay_rate=0.9, epsilon=1e-6)
    if rule == "adam":
        values.update(beta1=0.8, beta2=0.95, epsilon=1e-6)
    return values


def make_case(rng: np.random.Generator, shape: tuple[int, ...], steps: int) -> tuple[np.ndarray, list[np.ndarray]]:
    w = rng.standard_normal(shape)
    grads = [rng.standard_normal(shape) for _ in range(steps)]
    for g in grads:  # no near-zero entries: there Adam's two epsilon conventions differ most
        g[np.abs(g) < 0.1] = 0.5
    return w, grads


def _defaults(student, ref, rng, rule):
    w, grads = make_case(rng, (5, 4), 3)
    _, config = unpack_step(rule, student.call(rule, w.copy(), grads[0]))
    for key, value in RULES[rule]["defaults"].items():
        expect(key in config, f"{rule} with config=None should fill in config['{key}']")
        check_close(f"default config['{key}']", config[key], value, 1e-12, "use the default stated in the docstring")
    run_and_compare(student, ref, rule, w, grads, {}, "empty config, default hyperparameters")


def _state(student, ref, rng, rule):
    for shape in [(6, 3), (7,), (2, 3, 4)]:
        w, grads = make_case(rng, shape, 4)
        config = {**hyperparameters(rule, rng), **initial_state(rule, rng, shape)}
        run_and_compare(student, ref, rule, w, grads, config, f"shape {shape}, state carried over 4 steps")


def _epsilon(student, ref, rng, rule):
    # gradients of size ~1e-6 and a long history (t large, so Adam's bias corrections are ~1):
    # sqrt(cache) / sqrt(v) is about epsilon, so a hard-coded or misplaced epsilon is visible
    shape = (5, 6)
    w = rng.standard_normal(shape)
    grads = [1e-6 * rng.standard_normal(shape) for _ in range(3)]
    config = hyperparameters(rule, rng)
    if rule == "rmsprop":
        config["cache"] = rng.uniform(0.5e-12, 2e-12, shape)
    else:
        config.update(m=1e-6 * rng.standard_normal(shape), v=rng.uniform(0.5e-12, 2e-12, shape), t=2000)
    run_and_compare(student, ref, rule, w, grads, config, "tiny gradients, epsilon matters")


@pytest.mark.task("sgd")
def test_sgd_uses_default_learning_rate(student, ref, rng):
    _defaults(student, ref, rng, "sgd")


@pytest.mark.task("sgd")
def test_sgd_steps_match_reference(student, ref, rng):
    _state(student, ref, rng, "sgd")


@pytest.mark.task("sgd_momentum")
def test_sgd_momentum_defaults_and_zero_initial_velocity(student, ref, rng):
    _defaults(student, ref, rng, "sgd_momentum")


@pytest.mark.task("sgd_momentum")
def test_sgd_momentum_carries_velocity_across_steps(student, ref, rng):
    _state(student, ref, rng, "sgd_momentum")


@pytest.mark.task("rmsprop")
def test_rmsprop_defaults_and_zero_initial_cache(student, ref, rng):
    _defaults(student, ref, rng, "rmsprop")


@pytest.mark.task("rmsprop")
def test_rmsprop_carries_cache_across_steps(student, ref, rng):
    _state(student, ref, rng, "rmsprop")
    _epsilon(student, ref, rng, "rmsprop")


@pytest.mark.task("adam")
def test_adam_defaults_and_first_steps_from_zero_moments(student, ref, rng):
    _defaults(student, ref, rng, "adam")


@pytest.mark.task("adam")
def test_adam_carries_moments_and_step_count(student, ref, rng):
    _state(student, ref, rng, "adam")
    _epsilon(student, ref, rng, "adam")


@pytest.mark.task("adam")
def test_adam_first_step_has_size_about_learning_rate(student, rng):
    # With bias correction the very first step is ~learning_rate * sign(dw) for every entry.
    w = rng.standard_normal((4, 5))
    dw = rng.standard_normal((4, 5))
    dw[np.abs(dw) < 0.1] = 0.5
    next_w, _ = unpack_step("adam", student.call("adam", w.copy(), dw, {"learning_rate": 1e-2}))
    as_array("next_w", next_w, w.shape)
    step = np.abs(np.asarray(next_w, dtype=np.float64) - w)
    expect(bool(np.all(np.isfinite(step))),
           "the first Adam step gives NaN or inf: increment t BEFORE the bias correction (t starts at 0, so "
           "correcting with it first divides by 1 - beta1**0 = 0)")
    expect(bool(np.all(np.abs(step - 1e-2) < 1e-4)),
           "the first Adam step should move every weight by about learning_rate: update m and v with the "
           "current gradient BEFORE bias-correcting them (t starts at 0 and becomes 1)")
