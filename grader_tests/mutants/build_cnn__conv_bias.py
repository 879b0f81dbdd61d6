"""Convolutions with a bias before the batch norm (0.1 % more parameters; the bias is redundant)."""

TASK = "build_cnn"
CELL = "build_cnn_solution"
PATCH = [("padding=1, bias=False)", "padding=1, bias=True)")]
