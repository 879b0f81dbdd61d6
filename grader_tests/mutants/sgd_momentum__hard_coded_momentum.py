"""Momentum hard-coded to 0.9 instead of config["momentum"]."""

TASK = "sgd_momentum"
CELL = "sgd_momentum_solution"
PATCH = [('v = config["momentum"] * v', "v = 0.9 * v")]
