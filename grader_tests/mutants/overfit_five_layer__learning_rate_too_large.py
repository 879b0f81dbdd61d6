"""An absurdly large learning rate (10): the loss explodes and the 5-layer net never fits 50 images."""

TASK = "overfit_five_layer"
CELL = "overfit_five_layer_solution"
PATCH = [("five_layer_learning_rate = 3e-2", "five_layer_learning_rate = 10.0")]
