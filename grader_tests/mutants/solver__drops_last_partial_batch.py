"""check_accuracy only predicts full batches: the last, smaller batch is dropped."""

TASK = "solver"
CELL = "solver_solution"
PATCH = [
    ("for start in range(0, N, batch_size):", "for start in range(0, N - batch_size + 1, batch_size):"),
    (
        "return float(np.mean(np.concatenate(preds) == y))",
        "preds = np.concatenate(preds) if preds else np.zeros(0, dtype=int)\n"
        "        return float(np.mean(preds == y[: len(preds)])) if len(preds) else 0.0",
    ),
]
