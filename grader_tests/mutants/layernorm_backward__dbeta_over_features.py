"""dbeta summed over the features (axis 1) instead of the samples."""

TASK = "layernorm_backward"
CELL = "layernorm_backward_solution"
PATCH = [
    (
        'dbeta = dout.sum(axis=0)',
        'dbeta = dout.sum(axis=1)',
    ),
]
