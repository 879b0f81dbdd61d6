"""Layer-norm forward normalises over the batch (axis 0), as batch norm does; the backward pass is
correct and must keep its points."""

TASK = "layernorm_forward"
CELL = "layernorm_forward_solution"
PATCH = [
    ("mean = x.mean(axis=1, keepdims=True)", "mean = x.mean(axis=0, keepdims=True)"),
    ("var = (centred * centred).mean(axis=1, keepdims=True)", "var = (centred * centred).mean(axis=0, keepdims=True)"),
]
