"""p used as the DROP probability: keeps units with probability 1 - p."""

TASK = "dropout_forward"
CELL = "dropout_forward_solution"
PATCH = [("mask = ((np.random.rand(*x.shape) < p) / p)", "mask = ((np.random.rand(*x.shape) >= p) / (1 - p))")]
