"""dw computed in float64 for float32 inputs (dtype drift)."""

TASK = "affine_backward"
CELL = "affine_backward_solution"
PATCH = [
    (
        'dw = x_flat.T @ dout',
        'dw = x_flat.T.astype(np.float64) @ dout',
    ),
]
