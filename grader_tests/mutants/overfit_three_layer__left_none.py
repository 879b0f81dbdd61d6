"""The placeholder values were never replaced (learning rate left as None)."""

TASK = "overfit_three_layer"
CELL = "overfit_three_layer_solution"
PATCH = [("three_layer_learning_rate = 1e-1\n", "")]
