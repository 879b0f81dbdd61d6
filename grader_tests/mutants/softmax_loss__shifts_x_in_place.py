"""Subtracts the row maximum from x in place (the caller's scores change)."""

TASK = "softmax_loss"
CELL = "softmax_loss_solution"
PATCH = [
    (
        'shifted = x - x.max(axis=1, keepdims=True)',
        'x -= x.max(axis=1, keepdims=True)\n'
        '    shifted = x',
    ),
]
