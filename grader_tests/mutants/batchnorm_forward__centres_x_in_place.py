"""Centres x in place (x -= mean): out is right, but the caller's x is changed."""

TASK = "batchnorm_forward"
CELL = "batchnorm_forward_solution"
PATCH = [("        centred = x - mean\n", "        x -= mean\n        centred = x\n")]
