"""Test mode normalises with the batch statistics (train/test confusion)."""

TASK = "batchnorm_forward"
CELL = "batchnorm_forward_solution"
PATCH = [
    (
        'x_hat = (x - running_mean) / np.sqrt(running_var + eps)',
        'x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)',
    ),
]
