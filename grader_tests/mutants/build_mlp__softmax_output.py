"""build_mlp ends with nn.Softmax(dim=1): it returns probabilities instead of raw scores (logits), which
F.cross_entropy then soft-maxes a second time."""

TASK = "build_mlp"
CELL = "build_mlp_solution"
PATCH = [("layers.append(nn.Linear(width, num_classes))",
          "layers += [nn.Linear(width, num_classes), nn.Softmax(dim=1)]")]
