"""Weight scale 10: initial scores are huge and the loss explodes."""

TASK = "overfit_three_layer"
CELL = "overfit_three_layer_solution"
PATCH = [("three_layer_weight_scale = 1e-1", "three_layer_weight_scale = 10.0")]
