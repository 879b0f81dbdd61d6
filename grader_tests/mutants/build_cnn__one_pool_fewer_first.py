"""build_cnn without the first max pooling: same parameters, a different network."""

TASK = "build_cnn"
CELL = "build_cnn_solution"
PATCH = [('plan = (64, 64, "pool", 128,', 'plan = (64, 64, 128,')]
