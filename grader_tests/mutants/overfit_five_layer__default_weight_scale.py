"""The five-layer net with the default weight scale 1e-2: the signal vanishes through 4 hidden layers."""

TASK = "overfit_five_layer"
CELL = "overfit_five_layer_solution"
PATCH = [("five_layer_weight_scale = 2e-1", "five_layer_weight_scale = 1e-2")]
