"""Per-sample variance with Bessel's correction (D - 1) instead of the biased variance."""

TASK = "layernorm_forward"
CELL = "layernorm_forward_solution"
PATCH = [
    (
        'var = (centred * centred).mean(axis=1, keepdims=True)',
        'var = (centred * centred).sum(axis=1, keepdims=True) / (x.shape[1] - 1)',
    ),
]
