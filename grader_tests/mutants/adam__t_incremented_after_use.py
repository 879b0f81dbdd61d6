"""Bias-corrects with t before incrementing it: the first step divides by 1 - beta**0 = 0."""

TASK = "adam"
CELL = "adam_solution"
PATCH = [
    ('    config["t"] += 1\n    t = config["t"]\n', '    t = config["t"]\n'),
    ("    next_w = w - config", '    config["t"] += 1\n    next_w = w - config'),
]
