"""batchnorm_forward with np.var for the batch variance."""

TASK = "batchnorm_forward"
CELL = "batchnorm_forward_solution"
PATCH = [("var = (centred * centred).mean(axis=0)", "var = np.var(x, axis=0)")]
