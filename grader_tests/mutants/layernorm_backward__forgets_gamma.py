"""dx_hat = dout: forgets to multiply by gamma."""

TASK = "layernorm_backward"
CELL = "layernorm_backward_solution"
PATCH = [
    (
        'dx_hat = dout * gamma',
        'dx_hat = dout',
    ),
]
