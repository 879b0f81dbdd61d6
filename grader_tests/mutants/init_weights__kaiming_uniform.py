"""kaiming_uniform_ instead of kaiming_normal_ for the convolutions (same std, uniform distribution)."""

TASK = "init_weights"
CELL = "init_weights_solution"
PATCH = [('kaiming_normal_', 'kaiming_uniform_')]
