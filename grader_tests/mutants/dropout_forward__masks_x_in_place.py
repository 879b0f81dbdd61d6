"""Multiplies x by the mask in place and returns x (modifies the caller's array)."""

TASK = "dropout_forward"
CELL = "dropout_forward_solution"
PATCH = [
    (
        'out = x * mask',
        'x *= mask\n'
        '        out = x',
    ),
]
