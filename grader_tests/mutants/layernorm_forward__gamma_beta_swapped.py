"""Swaps the roles of gamma and beta: beta * x_hat + gamma."""

TASK = "layernorm_forward"
CELL = "layernorm_forward_solution"
PATCH = [
    (
        'out = gamma * x_hat + beta',
        'out = beta * x_hat + gamma',
    ),
]
