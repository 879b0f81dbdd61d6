"""Weight scale 10: initial scores are huge and the loss explodes."""

TASK = "overfit_five_layer"
CELL = "overfit_five_layer_solution"
PATCH = [("five_layer_weight_scale = 2e-1", "five_layer_weight_scale = 10.0")]
