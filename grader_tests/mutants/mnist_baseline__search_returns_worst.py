"""search_hyperparameters picks the candidate with the LOWEST validation accuracy."""

TASK = "mnist_baseline"
CELL = "mnist_baseline_solution"
PATCH = [("best_hparams = max(results, key=lambda r: r[1])[0]", "best_hparams = min(results, key=lambda r: r[1])[0]")]
