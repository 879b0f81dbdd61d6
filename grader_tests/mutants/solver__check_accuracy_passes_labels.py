"""check_accuracy calls model.loss(X_batch, y_batch): that returns (loss, grads), not the scores."""

TASK = "solver"
CELL = "solver_solution"
PATCH = [
    (
        "scores = self.model.loss(X[start:start + batch_size])",
        "scores = self.model.loss(X[start:start + batch_size], y[start:start + batch_size])",
    )
]
