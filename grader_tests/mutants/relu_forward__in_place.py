"""Zeroes the negative entries of x in place and returns x (modifies the caller's array)."""

TASK = "relu_forward"
CELL = "relu_forward_solution"
PATCH = [
    (
        'out = np.maximum(x, 0)',
        'x[x < 0] = 0\n'
        '    out = x',
    ),
]
