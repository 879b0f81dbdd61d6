"""Momentum with in-place updates of the velocity and the weights."""

TASK = "sgd_momentum"
CELL = "sgd_momentum_solution"
PATCH = [
    (
        'v = config["momentum"] * v - config["learning_rate"] * dw\n    next_w = w + v',
        'v = v.copy()\n    v *= config["momentum"]\n    v -= config["learning_rate"] * dw\n    w += v\n    next_w = w',
    )
]
