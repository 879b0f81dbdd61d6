"""What every hidden layer of your FullyConnectedNet outputs and receives (notebook 03, provided).

:func:`relu_traces` runs one training-mode ``model.loss(X, y)`` while recording, for each call of
``relu_forward`` / ``relu_backward`` in ``namespace`` (the notebook's ``globals()``, where your
network finds the layer functions by name), the ReLU's output (the hidden activations) and the
upstream gradient it receives (dL/d activations). Nothing about your network's internals is assumed
beyond the CS231n-style layer names; the original functions are restored afterwards.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

__all__ = ["relu_traces", "summarise"]


@contextmanager
def _recording(namespace: dict, activations: list, gradients: list):
    forward, backward = namespace["relu_forward"], namespace["relu_backward"]

    def relu_forward(x):
        out, cache = forward(x)
        activations.append(np.array(out, copy=True))
        return out, cache

    def relu_backward(dout, cache):
        gradients.append(np.array(dout, copy=True))
        return backward(dout, cache)

    namespace["relu_forward"], namespace["relu_backward"] = relu_forward, relu_backward
    try:
        yield
    finally:
        namespace["relu_forward"], namespace["relu_backward"] = forward, backward


def relu_traces(model, X: np.ndarray, y: np.ndarray, namespace: dict) -> dict[str, list[np.ndarray]]:
    """Hidden activations and their gradients of one training-mode pass of ``model`` on ``(X, y)``.

    Returns ``{"activations": [A1, A2, ...], "gradients": [G1, G2, ...], "loss": float}`` with
    ``A_l`` and ``G_l`` of shape ``(N, H_l)``, hidden layer 1 first (the backward pass visits the
    layers in reverse; the gradients are put back in layer order).
    """
    activations: list[np.ndarray] = []
    gradients: list[np.ndarray] = []
    with _recording(namespace, activations, gradients), np.errstate(all="ignore"):
        loss, _ = model.loss(X, y)
    return {"activations": activations, "gradients": gradients[::-1], "loss": float(loss)}


def summarise(traces: dict[str, list[np.ndarray]]) -> list[dict[str, float]]:
    """Per hidden layer: std of the activations, fraction of active (positive) units, std of the gradient."""
    return [
        {
            "act_std": float(np.std(a)),
            "active": float(np.mean(a > 0)),
            "grad_std": float(np.std(g)),
        }
        for a, g in zip(traces["activations"], traces["gradients"], strict=True)
    ]
