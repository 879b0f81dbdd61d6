"""Measures the training accuracy on every training sample, ignoring num_train_samples (default 1000)."""

TASK = "solver"
CELL = "solver_solution"
PATCH = [("num_samples=self.num_train_samples", "num_samples=None")]
