"""Batch variance with Bessel's correction (N - 1) instead of the biased variance."""

TASK = "batchnorm_forward"
CELL = "batchnorm_forward_solution"
PATCH = [("var = (centred * centred).mean(axis=0)", "var = (centred * centred).sum(axis=0) / (x.shape[0] - 1)")]
