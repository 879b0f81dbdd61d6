"""build_mlp without the BatchNorm1d layers (same widths, fewer parameters: 0.1 % off the report's count)."""

TASK = "build_mlp"
CELL = "build_mlp_solution"
PATCH = [("nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.ReLU", "nn.Linear(width, hidden), nn.ReLU")]
