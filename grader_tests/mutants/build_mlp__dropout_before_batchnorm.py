"""build_mlp drops units between each Linear layer and its batch norm (Linear -> Dropout -> BatchNorm1d ->
ReLU): three nn.Dropout(0.3) with the right p, but batch norm then normalises dropped-out activations."""

TASK = "build_mlp"
CELL = "build_mlp_solution"
PATCH = [("[nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True), nn.Dropout(0.3)]",
          "[nn.Linear(width, hidden), nn.Dropout(0.3), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True)]")]
