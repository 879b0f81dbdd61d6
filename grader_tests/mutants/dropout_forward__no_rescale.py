"""Forgets the 1/p of inverted dropout: kept units are not scaled up."""

TASK = "dropout_forward"
CELL = "dropout_forward_solution"
PATCH = [
    (
        'mask = ((np.random.rand(*x.shape) < p) / p)',
        'mask = (np.random.rand(*x.shape) < p)',
    ),
]
