"""best_params is the model's own params dict, not a copy: it follows every later update."""

TASK = "solver"
CELL = "solver_solution"
PATCH = [
    (
        "self.best_params = {k: v.copy() for k, v in self.model.params.items()}",
        "self.best_params = self.model.params",
    )
]
