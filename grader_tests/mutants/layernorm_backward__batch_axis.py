"""Layer-norm backward reduces over the batch axis, as batch norm would."""

TASK = "layernorm_backward"
CELL = "layernorm_backward_solution"
PATCH = [
    (
        "d * dx_hat - dx_hat.sum(axis=1, keepdims=True) - x_hat * (dx_hat * x_hat).sum(axis=1, keepdims=True)",
        "d * dx_hat - dx_hat.sum(axis=0, keepdims=True) - x_hat * (dx_hat * x_hat).sum(axis=0, keepdims=True)",
    )
]
