"""Epoch bookkeeping (learning-rate decay, accuracy checks) after iterations 2, ipe + 2, ... instead of
after the last iteration of each epoch: the final iterations of training fall after the last check."""

TASK = "solver"
CELL = "solver_solution"
PATCH = [("if (t + 1) % iterations_per_epoch == 0:", "if (t - 1) % iterations_per_epoch == 0:")]
