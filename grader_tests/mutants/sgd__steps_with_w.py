"""Typo: the step uses w instead of dw (weight decay instead of descent)."""

TASK = "sgd"
CELL = "sgd_solution"
PATCH = [('next_w = w - config["learning_rate"] * dw', 'next_w = w - config["learning_rate"] * w')]
