"""Another working pair for the three-layer net: learning rate 3e-2 with weight scale 0.2."""

TASK = "overfit_three_layer"
CELL = "overfit_three_layer_solution"
PATCH = [
    ("three_layer_learning_rate = 1e-1", "three_layer_learning_rate = 0.03"),
    ("three_layer_weight_scale = 1e-1", "three_layer_weight_scale = 0.2"),
]
