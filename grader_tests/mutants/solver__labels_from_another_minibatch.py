"""X and y of a minibatch are drawn with two different random index sets."""

TASK = "solver"
CELL = "solver_solution"
PATCH = [
    (
        "loss, grads = self.model.loss(self.X_train[idx], self.y_train[idx])",
        "loss, grads = self.model.loss(self.X_train[idx], self.y_train[np.random.choice(num_train, self.batch_size)])",
    )
]
