"""Weight scale 1e-4: activations and gradients vanish, the loss stays at log(10) = 2.3."""

TASK = "overfit_five_layer"
CELL = "overfit_five_layer_solution"
PATCH = [("five_layer_weight_scale = 2e-1", "five_layer_weight_scale = 1e-4")]
