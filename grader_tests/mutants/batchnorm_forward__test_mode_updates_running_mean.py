"""Test mode also updates the running mean (stale state leaks from test batches)."""

TASK = "batchnorm_forward"
CELL = "batchnorm_forward_solution"
PATCH = [
    (
        'x_hat = (x - running_mean) / np.sqrt(running_var + eps)',
        'x_hat = (x - running_mean) / np.sqrt(running_var + eps)\n'
        '        running_mean = momentum * running_mean + (1 - momentum) * x.mean(axis=0)',
    ),
]
