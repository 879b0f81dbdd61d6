"""Hard-codes eps = 1e-5 instead of reading ln_param['eps']."""

TASK = "layernorm_forward"
CELL = "layernorm_forward_solution"
PATCH = [
    (
        'eps = ln_param.get("eps", 1e-5)',
        'eps = 1e-5',
    ),
]
