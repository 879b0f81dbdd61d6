"""Minibatch indices drawn from range(X_train.shape[1]) (the feature count) instead of all N samples:
only the first D training samples are ever seen."""

TASK = "solver"
CELL = "solver_solution"
PATCH = [
    (
        "num_train = self.X_train.shape[0]\n        idx = np.random.choice(num_train, self.batch_size)",
        "num_train = self.X_train.shape[1]\n        idx = np.random.choice(num_train, self.batch_size)",
    )
]
