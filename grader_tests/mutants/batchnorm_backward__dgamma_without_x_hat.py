"""dgamma sums dout only (forgets the factor x_hat)."""

TASK = "batchnorm_backward"
CELL = "batchnorm_backward_solution"
PATCH = [
    (
        'dgamma = (dout * x_hat).sum(axis=0)',
        'dgamma = dout.sum(axis=0)',
    ),
]
