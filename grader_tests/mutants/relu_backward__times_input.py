"""dx = dout * x: multiplies by the input instead of the indicator x > 0."""

TASK = "relu_backward"
CELL = "relu_backward_solution"
PATCH = [
    (
        'dx = dout * (x > 0)',
        'dx = dout * np.maximum(x, 0)',
    ),
]
