"""Uses the batch size N where the number of features D belongs (right only for square inputs)."""

TASK = "layernorm_backward"
CELL = "layernorm_backward_solution"
PATCH = [
    (
        'd = dout.shape[1]',
        'd = dout.shape[0]',
    ),
]
