"""The search records max(solver.val_acc_history) (the best epoch's accuracy, as best_val_acc is) after
train()."""

TASK = "mnist_baseline"
CELL = "mnist_baseline_solution"
PATCH = [
    ("results.append((hparams, float(solver.best_val_acc)))",
     "results.append((hparams, float(max(solver.val_acc_history))))"),
]
