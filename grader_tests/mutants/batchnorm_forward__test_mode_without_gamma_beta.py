"""Test-mode batch norm normalises with the running averages but forgets gamma and beta."""

TASK = "batchnorm_forward"
CELL = "batchnorm_forward_solution"
PATCH = [(
    "        x_hat = (x - running_mean) / np.sqrt(running_var + eps)\n        out = gamma * x_hat + beta",
    "        x_hat = (x - running_mean) / np.sqrt(running_var + eps)\n        out = x_hat",
)]
