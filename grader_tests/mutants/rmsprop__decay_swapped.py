"""decay_rate and 1 - decay_rate swapped: the cache is mostly the newest dw**2."""

TASK = "rmsprop"
CELL = "rmsprop_solution"
PATCH = [
    (
        'config["cache"] = rho * config["cache"] + (1 - rho) * dw * dw',
        'config["cache"] = (1 - rho) * config["cache"] + rho * dw * dw',
    )
]
