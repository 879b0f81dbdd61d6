"""dx left flattened as (N, D): only right for 2-D inputs."""

TASK = "affine_backward"
CELL = "affine_backward_solution"
PATCH = [
    (
        'dx = (dout @ w.T).reshape(x.shape)',
        'dx = dout @ w.T',
    ),
]
