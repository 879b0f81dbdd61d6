"""dgamma summed over the features (axis 1) instead of the samples."""

TASK = "layernorm_backward"
CELL = "layernorm_backward_solution"
PATCH = [
    (
        'dgamma = (dout * x_hat).sum(axis=0)',
        'dgamma = (dout * x_hat).sum(axis=1)',
    ),
]
