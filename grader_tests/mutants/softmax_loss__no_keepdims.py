"""x.max(axis=1) without keepdims: broadcasts only when N == C (square inputs)."""

TASK = "softmax_loss"
CELL = "softmax_loss_solution"
PATCH = [
    (
        'shifted = x - x.max(axis=1, keepdims=True)',
        'shifted = x - x.max(axis=1)',
    ),
]
