"""nn.Dropout(0.7): the keep ratio of the numpy notebooks passed as PyTorch's drop probability."""

TASK = "build_mlp"
CELL = "build_mlp_solution"
PATCH = [("nn.Dropout(0.3)", "nn.Dropout(0.7)")]
