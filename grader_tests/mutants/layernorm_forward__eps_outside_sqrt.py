"""eps added outside the square root: 1 / (sqrt(var) + eps)."""

TASK = "layernorm_forward"
CELL = "layernorm_forward_solution"
PATCH = [
    (
        'inv_std = 1.0 / np.sqrt(var + eps)',
        'inv_std = 1.0 / (np.sqrt(var) + eps)',
    ),
]
