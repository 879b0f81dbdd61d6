"""Variance as E[x^2] - E[x]^2 per sample: cancels catastrophically for samples with a large mean."""

TASK = "layernorm_forward"
CELL = "layernorm_forward_solution"
PATCH = [
    (
        "var = (centred * centred).mean(axis=1, keepdims=True)",
        "var = (x * x).mean(axis=1, keepdims=True) - mean * mean",
    )
]
