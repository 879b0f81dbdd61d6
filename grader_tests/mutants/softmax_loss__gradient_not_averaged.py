"""Forgets to divide the gradient by N."""

TASK = "softmax_loss"
CELL = "softmax_loss_solution"
PATCH = [
    (
        '    dx /= n\n',
        '',
    ),
]
