"""Forgets to flatten x: works on (N, D) inputs, raises on (N, d1, d2) (affine_backward must not pay for it)."""

TASK = "affine_forward"
CELL = "affine_forward_solution"
PATCH = [
    (
        'x_flat = x.reshape(x.shape[0], -1)',
        'x_flat = x',
    ),
]
