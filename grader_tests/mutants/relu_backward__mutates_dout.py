"""relu_backward zeroes dout in place and returns it (the caller's array changes)."""

TASK = "relu_backward"
CELL = "relu_backward_solution"
PATCH = [("dx = dout * (x > 0)", "dout[x <= 0] = 0\n    dx = dout")]
