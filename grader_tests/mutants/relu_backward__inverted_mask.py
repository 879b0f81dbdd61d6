"""Passes the gradient where x < 0 instead of x > 0."""

TASK = "relu_backward"
CELL = "relu_backward_solution"
PATCH = [
    (
        'dx = dout * (x > 0)',
        'dx = dout * (x < 0)',
    ),
]
