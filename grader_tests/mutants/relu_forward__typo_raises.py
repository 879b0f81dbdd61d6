"""Calls np.maximum with one argument: every call raises TypeError (relu_backward must not pay for it)."""

TASK = "relu_forward"
CELL = "relu_forward_solution"
PATCH = [
    (
        'out = np.maximum(x, 0)',
        'out = np.maximum(x)',
    ),
]
