"""Dropout forward draws the mask for an (N, D) input only (np.random.rand(N, D)): x may have any shape."""

TASK = "dropout_forward"
CELL = "dropout_forward_solution"
PATCH = [("mask = ((np.random.rand(*x.shape) < p)", "mask = ((np.random.rand(x.shape[0], x.shape[1]) < p)")]
