"""The baseline is built with two hidden layers (256, 128) instead of three."""

TASK = "mnist_baseline"
CELL = "mnist_baseline_solution"
PATCH = [("FullyConnectedNet([256, 128, 64]", "FullyConnectedNet([256, 128]")]
