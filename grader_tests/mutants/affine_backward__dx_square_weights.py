"""dx = dout @ w (no transpose): only works when w is square, wrong even then."""

TASK = "affine_backward"
CELL = "affine_backward_solution"
PATCH = [
    (
        'dx = (dout @ w.T).reshape(x.shape)',
        'dx = (dout @ w).reshape(x.shape)',
    ),
]
