"""An absurdly large learning rate (10): the loss explodes and the 3-layer net never fits 50 images."""

TASK = "overfit_three_layer"
CELL = "overfit_three_layer_solution"
PATCH = [("three_layer_learning_rate = 1e-1", "three_layer_learning_rate = 10.0")]
