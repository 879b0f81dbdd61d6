"""Softmax without subtracting the row maximum: overflows (NaN) for logits of magnitude 1e3."""

TASK = "softmax_loss"
CELL = "softmax_loss_solution"
PATCH = [("shifted = x - x.max(axis=1, keepdims=True)", "shifted = x")]
