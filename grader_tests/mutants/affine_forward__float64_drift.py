"""Casts x to float64: float32 inputs give a float64 output (dtype drift)."""

TASK = "affine_forward"
CELL = "affine_forward_solution"
PATCH = [
    (
        'out = x_flat @ w + b\n',
        'out = x_flat.astype(np.float64) @ w + b\n',
    ),
]
