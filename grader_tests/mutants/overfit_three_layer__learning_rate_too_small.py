"""A tiny learning rate (1e-5): after 20 epochs the 3-layer net is still near chance."""

TASK = "overfit_three_layer"
CELL = "overfit_three_layer_solution"
PATCH = [("three_layer_learning_rate = 1e-1", "three_layer_learning_rate = 1e-5")]
