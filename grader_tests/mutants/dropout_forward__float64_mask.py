"""Keeps a float64 mask: float32 inputs give a float64 output."""

TASK = "dropout_forward"
CELL = "dropout_forward_solution"
PATCH = [
    (
        '.astype(x.dtype, copy=False)',
        '',
    ),
]
