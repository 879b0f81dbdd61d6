"""Casts out back to x's dtype but keeps the float64 mask (np.random.rand(...) < p, divided by p) in the
cache, so a correct dx = dout * mask comes out float64: the forward's fault, not the backward's."""

TASK = "dropout_forward"
CELL = "dropout_forward_solution"
PATCH = [
    (
        "mask = ((np.random.rand(*x.shape) < p) / p).astype(x.dtype, copy=False)",
        "mask = (np.random.rand(*x.shape) < p) / p",
    ),
    ("out = x * mask", "out = (x * mask).astype(x.dtype)"),
]
