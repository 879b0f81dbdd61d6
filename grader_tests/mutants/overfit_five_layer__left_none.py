"""The placeholder values were never replaced (learning rate left as None)."""

TASK = "overfit_five_layer"
CELL = "overfit_five_layer_solution"
PATCH = [("five_layer_learning_rate = 3e-2\n", "")]
