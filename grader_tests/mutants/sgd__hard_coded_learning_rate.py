"""The learning rate is hard-coded to 1e-2 instead of read from config."""

TASK = "sgd"
CELL = "sgd_solution"
PATCH = [('next_w = w - config["learning_rate"] * dw', "next_w = w - 1e-2 * dw")]
