"""The baseline is built without batch normalisation."""

TASK = "mnist_baseline"
CELL = "mnist_baseline_solution"
PATCH = [('normalization="batchnorm"', "normalization=None")]
