"""A float64 mask turns float32 gradients into float64 (dtype drift)."""

TASK = "relu_backward"
CELL = "relu_backward_solution"
PATCH = [
    (
        'dx = dout * (x > 0)',
        'dx = dout * (x > 0).astype(np.float64)',
    ),
]
