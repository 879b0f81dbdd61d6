"""Uses the 0/1 keep mask (mask > 0), dropping the 1/p scale in the backward pass."""

TASK = "dropout_backward"
CELL = "dropout_backward_solution"
PATCH = [
    (
        'dx = dout * mask',
        'dx = dout * (mask > 0)',
    ),
]
