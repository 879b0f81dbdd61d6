"""db summed over the feature axis instead of the batch axis."""

TASK = "affine_backward"
CELL = "affine_backward_solution"
PATCH = [("db = dout.sum(axis=0)", "db = dout.sum(axis=1)")]
