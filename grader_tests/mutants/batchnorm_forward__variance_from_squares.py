"""Variance as E[x^2] - E[x]^2: cancels catastrophically for features with a large mean."""

TASK = "batchnorm_forward"
CELL = "batchnorm_forward_solution"
PATCH = [("var = (centred * centred).mean(axis=0)", "var = (x * x).mean(axis=0) - mean * mean")]
