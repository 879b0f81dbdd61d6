"""ReLU forward returns its cache as a one-element tuple (x,) (like affine's tuple), not x itself as documented."""

TASK = "relu_forward"
CELL = "relu_forward_solution"
PATCH = [("    cache = x\n", "    cache = (x,)\n")]
