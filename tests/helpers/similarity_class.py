"""A test class for the similarity report, on the five tasks of 01_layers.

Six *independent* students each wrote every task their own way (the reference, the correct variants of
grader_tests/variants, and hand-written alternatives below): no two of them share an implementation.
Five *copiers* each took one independent student's notebook and disguised it the way students do.
"""

from __future__ import annotations

import random
from pathlib import Path

from mlplab.integrity.synthetic import (
    release_templates,
    rename_variables,
    reorder_functions,
    restyle_comments,
    with_docstring,
    write_class,
)
from mlplab.validity.mutants import load_change, solution_sources

STEM = "01_layers"
CELLS = [
    "affine_forward_solution",
    "affine_backward_solution",
    "relu_forward_solution",
    "relu_backward_solution",
    "softmax_loss_solution",
]

# hand-written alternatives: (student index) -> cell -> source
HAND_WRITTEN: dict[int, dict[str, str]] = {
    3: {
        "affine_forward_solution": """
def affine_forward(x, w, b):
    # flatten every sample, then one matrix product
    rows = x.shape[0]
    flat = np.reshape(x, (rows, np.prod(x.shape[1:], dtype=int)))
    result = flat.dot(w)
    result += b
    return result, (x, w, b)
""",
        "affine_backward_solution": """
def _flatten(a):
    return a.reshape(len(a), -1)


def affine_backward(dout, cache):
    inputs, weights, bias = cache
    grad_w = _flatten(inputs).T.dot(dout)
    grad_b = np.sum(dout, axis=0)
    grad_x = np.reshape(dout.dot(weights.T), inputs.shape)
    return grad_x, grad_w, grad_b
""",
        "relu_forward_solution": """
def relu_forward(x):
    out = x.copy()
    out[out < 0] = 0
    return out, x
""",
        "relu_backward_solution": """
def relu_backward(dout, cache):
    grad = np.array(dout, copy=True)
    grad[cache <= 0] = 0
    return grad
""",
        "softmax_loss_solution": """
def _stable_log_softmax(scores):
    top = np.amax(scores, axis=1)[:, None]
    centred = scores - top
    return centred - np.log(np.sum(np.exp(centred), axis=1))[:, None]


def softmax_loss(x, y):
    count = len(y)
    logp = _stable_log_softmax(x)
    picked = logp[np.arange(count), y]
    loss = -np.sum(picked) / count
    grad = np.exp(logp)
    grad[np.arange(count), y] = grad[np.arange(count), y] - 1
    grad = grad / count
    return float(loss), grad.astype(x.dtype)
""",
    },
    4: {
        "affine_forward_solution": """
def affine_forward(x, w, b):
    batch = len(x)
    out = np.matmul(x.reshape(batch, w.shape[0]), w) + b[np.newaxis, :]
    cache = x, w, b
    return out, cache
""",
        "affine_backward_solution": """
def affine_backward(dout, cache):
    x, w, b = cache
    N = x.shape[0]
    D = w.shape[0]
    dw = np.zeros_like(w)
    for i in range(N):
        dw += np.outer(x[i].reshape(D), dout[i])
    db = dout.sum(0)
    dx = np.matmul(dout, w.transpose()).reshape(*x.shape)
    return dx, dw, db
""",
        "relu_forward_solution": """
def relu_forward(x):
    return np.clip(x, 0, None), x
""",
        "relu_backward_solution": """
def relu_backward(dout, cache):
    positive = (cache > 0).astype(dout.dtype)
    return positive * dout
""",
        "softmax_loss_solution": """
def softmax_loss(x, y):
    N, C = x.shape
    m = np.max(x, axis=1, keepdims=True)
    e = np.exp(x - m)
    p = e / e.sum(axis=1, keepdims=True)
    onehot = np.zeros_like(p)
    onehot[np.arange(N), y] = 1
    loss = -np.mean(np.log(p[np.arange(N), y]))
    dx = (p - onehot) / N
    return loss, dx
""",
    },
    5: {
        "affine_forward_solution": """
def affine_forward(x, w, b):
    flat_inputs = x.reshape((x.shape[0], -1))
    out = np.einsum("nd,dm->nm", flat_inputs, w)
    out = out + b
    return out, (x, w, b)
""",
        "affine_backward_solution": """
def affine_backward(dout, cache):
    x, w, _ = cache
    x2d = x.reshape(x.shape[0], w.shape[0])
    dx = np.dot(dout, w.T)
    dx = dx.reshape(x.shape)
    dw = np.dot(x2d.T, dout)
    db = np.ones(dout.shape[0], dtype=dout.dtype) @ dout
    return dx, dw, db
""",
        "relu_forward_solution": """
def relu_forward(x):
    out = (x + np.abs(x)) / 2
    return out.astype(x.dtype), x
""",
        "relu_backward_solution": """
def relu_backward(dout, cache):
    return np.where(cache > 0, dout, 0).astype(dout.dtype)
""",
        "softmax_loss_solution": """
from scipy.special import logsumexp as _lse


def softmax_loss(x, y):
    num = x.shape[0]
    log_probs = x - _lse(x, axis=1, keepdims=True)
    loss = -log_probs[range(num), list(y)].sum() / num
    probs = np.exp(log_probs)
    probs[range(num), list(y)] -= 1
    return float(loss), (probs / num).astype(x.dtype)
""",
    },
}

# implementations taken from grader_tests/variants: (student index) -> variant file names
FROM_VARIANTS: dict[int, list[str]] = {
    1: [
        "affine_forward__loop_over_samples",
        "affine_backward__einsum",
        "relu_forward__where",
        "softmax_loss__loop_float64_internally",
    ],
    2: ["affine__cache_with_flat_input", "relu__mask_cache"],
}

# the cells independent students 1 and 2 still need, hand-written
HAND_WRITTEN_FILL: dict[int, dict[str, str]] = {
    1: {
        "relu_backward_solution": """
def relu_backward(dout, cache):
    dx = dout.copy()
    dx[~(cache > 0)] = 0.0
    return dx
""",
    },
    2: {
        "softmax_loss_solution": """
def softmax_loss(x, y):
    shifted_logits = x - np.max(x, axis=-1, keepdims=True)
    Z = np.sum(np.exp(shifted_logits), axis=-1, keepdims=True)
    log_probs = shifted_logits - np.log(Z)
    probs = np.exp(log_probs)
    N = x.shape[0]
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx
""",
    },
}

INDEPENDENT = [f"indep{i}" for i in range(6)]


def independent_answers(root: Path) -> dict[str, dict[str, str]]:
    """student -> cell -> source for the six independent students."""
    reference = solution_sources(root / "source" / "mlp" / f"{STEM}.ipynb")
    out: dict[str, dict[str, str]] = {INDEPENDENT[0]: dict(reference)}
    for i in (1, 2):
        cells: dict[str, str] = {}
        for name in FROM_VARIANTS[i]:
            change = load_change(root / "grader_tests" / "variants" / f"{name}.py")
            cells[change.cell] = change.source
            cells.update(dict(change.extra))
        cells.update(HAND_WRITTEN_FILL[i])
        out[INDEPENDENT[i]] = cells
    for i, cells in HAND_WRITTEN.items():
        out[INDEPENDENT[i]] = dict(cells)
    for cells in out.values():
        assert set(cells) == set(CELLS), sorted(cells)
    return out


def copy_all(cells: dict[str, str], disguise) -> dict[str, str]:
    return {cell: disguise(src) for cell, src in cells.items()}


def build_class(root: Path, release: Path, submitted: Path, seed: int = 14) -> set[frozenset[str]]:
    """Write the class under ``submitted``; returns the planted (copied) pairs."""
    rng = random.Random(seed)
    templates = release_templates(release, STEM)
    indep = independent_answers(root)
    students: dict[str, dict[str, str]] = {
        name: {cell: with_docstring(src, templates[cell]) for cell, src in cells.items()}
        for name, cells in indep.items()
    }
    own_work = students.pop(INDEPENDENT[5])  # the sixth set of answers is the partial copier's own work
    planted = {
        # renamed every variable
        "copy_renamed": (INDEPENDENT[0], copy_all(students[INDEPENDENT[0]], lambda s: rename_variables(s, rng))),
        # rewrote the comments and blank lines
        "copy_comments": (INDEPENDENT[1], copy_all(students[INDEPENDENT[1]], lambda s: restyle_comments(s, rng))),
        # reordered the functions of every cell (helpers after their callers)
        "copy_reordered": (INDEPENDENT[3], copy_all(students[INDEPENDENT[3]], reorder_functions)),
        # all three disguises at once
        "copy_everything": (
            INDEPENDENT[2],
            copy_all(
                students[INDEPENDENT[2]],
                lambda s: restyle_comments(reorder_functions(rename_variables(s, rng)), rng),
            ),
        ),
        # one task copied (renamed) out of five; the other four are the student's own work
        "copy_one_task": (
            INDEPENDENT[4],
            {
                **own_work,
                "softmax_loss_solution": rename_variables(students[INDEPENDENT[4]]["softmax_loss_solution"], rng),
            },
        ),
    }
    for name, (_source, cells) in planted.items():
        students[name] = cells
    write_class(release, submitted, "mlp", {s: {STEM: cells} for s, cells in students.items()})
    return {frozenset((name, source)) for name, (source, _cells) in planted.items()}
