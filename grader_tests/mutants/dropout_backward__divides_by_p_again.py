"""Divides by p again although the mask already holds the 1/p."""

TASK = "dropout_backward"
CELL = "dropout_backward_solution"
PATCH = [
    (
        'dx = dout * mask',
        'dx = dout * mask / dropout_param["p"]',
    ),
]
