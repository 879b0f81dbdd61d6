"""Another working pair for the five-layer net: learning rate 0.1 with weight scale 0.1."""

TASK = "overfit_five_layer"
CELL = "overfit_five_layer_solution"
PATCH = [
    ("five_layer_learning_rate = 3e-2", "five_layer_learning_rate = 0.1"),
    ("five_layer_weight_scale = 2e-1", "five_layer_weight_scale = 1 / 10"),
]
