"""Draws the keep mask with np.random.binomial instead of np.random.rand(*x.shape) < p: right on
average, but not the mask the docstring specifies (seeded gradient checks then disagree)."""

TASK = "dropout_forward"
CELL = "dropout_forward_solution"
PATCH = [
    ("(np.random.rand(*x.shape) < p)", "np.random.binomial(1, p, size=x.shape)"),
]
