"""Per-sample mean computed in float64: float32 inputs give a float64 output."""

TASK = "layernorm_forward"
CELL = "layernorm_forward_solution"
PATCH = [
    (
        'mean = x.mean(axis=1, keepdims=True)',
        'mean = x.mean(axis=1, keepdims=True, dtype=np.float64)',
    ),
]
