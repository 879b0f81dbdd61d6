"""Batch mean computed in float64: float32 inputs give a float64 output."""

TASK = "batchnorm_forward"
CELL = "batchnorm_forward_solution"
PATCH = [
    (
        'mean = x.mean(axis=0)',
        'mean = x.mean(axis=0, dtype=np.float64)',
    ),
]
