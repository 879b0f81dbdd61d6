"""The step uses the old cache; the cache is updated with dw**2 only after the step."""

TASK = "rmsprop"
CELL = "rmsprop_solution"
PATCH = [
    (
        '    config["cache"] = rho * config["cache"] + (1 - rho) * dw * dw\n'
        '    next_w = w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])',
        '    next_w = w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])\n'
        '    config["cache"] = rho * config["cache"] + (1 - rho) * dw * dw',
    )
]
