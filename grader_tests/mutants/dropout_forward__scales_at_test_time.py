"""Multiplies by p at test time (mixes classic and inverted dropout)."""

TASK = "dropout_forward"
CELL = "dropout_forward_solution"
PATCH = [
    (
        'out = x.copy()',
        'out = x * p',
    ),
]
