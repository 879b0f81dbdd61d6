"""Returns a float64 array for float32 inputs."""

TASK = "relu_forward"
CELL = "relu_forward_solution"
PATCH = [
    (
        'out = np.maximum(x, 0)',
        'out = np.maximum(x, 0).astype(np.float64)',
    ),
]
