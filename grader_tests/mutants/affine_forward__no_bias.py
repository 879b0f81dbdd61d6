"""Forgets the bias: out = x_flat @ w."""

TASK = "affine_forward"
CELL = "affine_forward_solution"
PATCH = [
    (
        'out = x_flat @ w + b\n',
        'out = x_flat @ w\n',
    ),
]
