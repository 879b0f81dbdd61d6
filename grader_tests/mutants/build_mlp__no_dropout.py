"""build_mlp without dropout (identical parameters and eval-mode scores)."""

TASK = "build_mlp"
CELL = "build_mlp_solution"
PATCH = [(", nn.ReLU(inplace=True), nn.Dropout(0.3)]", ", nn.ReLU(inplace=True)]")]
