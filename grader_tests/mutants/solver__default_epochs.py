"""num_epochs defaults to 5 instead of the documented 10."""

TASK = "solver"
CELL = "solver_solution"
PATCH = [('self.num_epochs = kwargs.pop("num_epochs", 10)', 'self.num_epochs = kwargs.pop("num_epochs", 5)')]
