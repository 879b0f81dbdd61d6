"""Weight scale 1e-4: activations and gradients vanish, the loss stays at log(10) = 2.3."""

TASK = "overfit_three_layer"
CELL = "overfit_three_layer_solution"
PATCH = [("three_layer_weight_scale = 1e-1", "three_layer_weight_scale = 1e-4")]
