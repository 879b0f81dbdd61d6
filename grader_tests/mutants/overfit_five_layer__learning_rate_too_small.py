"""A tiny learning rate (1e-5): after 20 epochs the 5-layer net is still near chance."""

TASK = "overfit_five_layer"
CELL = "overfit_five_layer_solution"
PATCH = [("five_layer_learning_rate = 3e-2", "five_layer_learning_rate = 1e-5")]
