"""dw divided by the batch size (an extra 1/N factor)."""

TASK = "affine_backward"
CELL = "affine_backward_solution"
PATCH = [
    (
        'dw = x_flat.T @ dout',
        'dw = x_flat.T @ dout / x.shape[0]',
    ),
]
