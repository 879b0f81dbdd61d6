"""dx_hat = dout: forgets to multiply by gamma."""

TASK = "batchnorm_backward"
CELL = "batchnorm_backward_solution"
PATCH = [
    (
        'dx_hat = dout * gamma',
        'dx_hat = dout',
    ),
]
