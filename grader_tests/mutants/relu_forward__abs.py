"""Uses |x| instead of max(0, x)."""

TASK = "relu_forward"
CELL = "relu_forward_solution"
PATCH = [
    (
        'out = np.maximum(x, 0)',
        'out = np.abs(x)',
    ),
]
