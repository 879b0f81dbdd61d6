"""Sums the per-sample losses instead of averaging them."""

TASK = "softmax_loss"
CELL = "softmax_loss_solution"
PATCH = [
    (
        'loss = -float(log_probs[rows, y].mean())',
        'loss = -float(log_probs[rows, y].sum())',
    ),
]
