"""Off by one: trains num_epochs - 1 epochs."""

TASK = "solver"
CELL = "solver_solution"
PATCH = [
    (
        "num_iterations = self.num_epochs * iterations_per_epoch",
        "num_iterations = (self.num_epochs - 1) * iterations_per_epoch",
    )
]
