"""The step count t is never incremented (bias correction with t = 0 divides by zero)."""

TASK = "adam"
CELL = "adam_solution"
PATCH = [('    config["t"] += 1\n', "")]
