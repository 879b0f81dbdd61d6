"""The weights are moved with the OLD velocity; the velocity is updated afterwards."""

TASK = "sgd_momentum"
CELL = "sgd_momentum_solution"
PATCH = [
    (
        'v = config["momentum"] * v - config["learning_rate"] * dw\n    next_w = w + v',
        'next_w = w + v\n    v = config["momentum"] * v - config["learning_rate"] * dw',
    )
]
