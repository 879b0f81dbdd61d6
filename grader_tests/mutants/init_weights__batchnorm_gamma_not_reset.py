"""Batch-norm gamma left as it was (only beta reset to 0)."""

TASK = "init_weights"
CELL = "init_weights_solution"
PATCH = [('nn.init.ones_(module.weight)', 'pass')]
