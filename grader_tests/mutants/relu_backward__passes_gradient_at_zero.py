"""Uses x >= 0: passes the gradient at exactly x == 0, where the docstring asks for 0."""

TASK = "relu_backward"
CELL = "relu_backward_solution"
PATCH = [("dx = dout * (x > 0)", "dx = dout * (x >= 0)")]
