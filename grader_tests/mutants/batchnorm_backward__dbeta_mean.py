"""dbeta averages dout over the batch instead of summing it."""

TASK = "batchnorm_backward"
CELL = "batchnorm_backward_solution"
PATCH = [
    (
        'dbeta = dout.sum(axis=0)',
        'dbeta = dout.mean(axis=0)',
    ),
]
