"""sgd updating w in place (w -= lr * dw) and returning it."""

TASK = "sgd"
CELL = "sgd_solution"
PATCH = [('next_w = w - config["learning_rate"] * dw', 'w -= config["learning_rate"] * dw\n    next_w = w')]
