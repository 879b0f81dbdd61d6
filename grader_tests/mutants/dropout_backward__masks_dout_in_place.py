"""Multiplies dout by the mask in place and returns it."""

TASK = "dropout_backward"
CELL = "dropout_backward_solution"
PATCH = [
    (
        'dx = dout * mask',
        'dout *= mask\n'
        '        dx = dout',
    ),
]
