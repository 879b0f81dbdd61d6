"""np.max(x, 0) (a reduction over axis 0) instead of np.maximum(x, 0)."""

TASK = "relu_forward"
CELL = "relu_forward_solution"
PATCH = [
    (
        'out = np.maximum(x, 0)',
        'out = np.max(x, 0)',
    ),
]
