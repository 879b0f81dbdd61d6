"""db averages dout over the batch instead of summing it."""

TASK = "affine_backward"
CELL = "affine_backward_solution"
PATCH = [
    (
        'db = dout.sum(axis=0)',
        'db = dout.mean(axis=0)',
    ),
]
