"""Forgets the 1/N factor of dx."""

TASK = "batchnorm_backward"
CELL = "batchnorm_backward_solution"
PATCH = [
    (
        'dx = (inv_std / n) * (',
        'dx = inv_std * (',
    ),
]
