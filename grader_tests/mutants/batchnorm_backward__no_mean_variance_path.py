"""dx = dout * gamma / sqrt(var + eps): forgets the paths through the batch mean and variance."""

TASK = "batchnorm_backward"
CELL = "batchnorm_backward_solution"
PATCH = [
    (
        'dx = (inv_std / n) * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))',
        'dx = dx_hat * inv_std',
    ),
]
