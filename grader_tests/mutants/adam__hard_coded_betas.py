"""beta1 and beta2 hard-coded to their defaults 0.9 and 0.999."""

TASK = "adam"
CELL = "adam_solution"
PATCH = [('b1, b2 = config["beta1"], config["beta2"]', "b1, b2 = 0.9, 0.999")]
