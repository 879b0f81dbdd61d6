"""Test-mode backward multiplies by p (train/test confusion)."""

TASK = "dropout_backward"
CELL = "dropout_backward_solution"
PATCH = [
    (
        'dx = dout.copy()',
        'dx = dout * dropout_param["p"]',
    ),
]
