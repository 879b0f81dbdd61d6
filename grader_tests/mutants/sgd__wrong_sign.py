"""Gradient ascent: the step is added instead of subtracted."""

TASK = "sgd"
CELL = "sgd_solution"
PATCH = [('next_w = w - config["learning_rate"] * dw', 'next_w = w + config["learning_rate"] * dw')]
