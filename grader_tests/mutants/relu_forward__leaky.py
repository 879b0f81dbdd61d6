"""A leaky ReLU (slope 0.01 for x < 0) instead of the ReLU."""

TASK = "relu_forward"
CELL = "relu_forward_solution"
PATCH = [
    (
        'out = np.maximum(x, 0)',
        'out = np.maximum(x, 0.01 * x)',
    ),
]
