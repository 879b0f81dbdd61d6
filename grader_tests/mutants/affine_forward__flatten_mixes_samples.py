"""Flattens with x.reshape(-1, N).T, which mixes the entries of different samples."""

TASK = "affine_forward"
CELL = "affine_forward_solution"
PATCH = [
    (
        'x_flat = x.reshape(x.shape[0], -1)',
        'x_flat = x.reshape(-1, x.shape[0]).T',
    ),
]
