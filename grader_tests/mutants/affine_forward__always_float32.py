"""Casts the output to float32 whatever the input dtype (precision lost for float64)."""

TASK = "affine_forward"
CELL = "affine_forward_solution"
PATCH = [
    (
        'out = x_flat @ w + b\n',
        'out = (x_flat @ w + b).astype(np.float32)\n',
    ),
]
