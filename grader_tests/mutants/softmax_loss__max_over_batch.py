"""Subtracts the maximum over the batch (axis 0) instead of each row's maximum."""

TASK = "softmax_loss"
CELL = "softmax_loss_solution"
PATCH = [
    (
        'shifted = x - x.max(axis=1, keepdims=True)',
        'shifted = x - x.max(axis=0, keepdims=True)',
    ),
]
