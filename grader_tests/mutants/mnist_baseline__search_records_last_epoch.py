"""The search records each candidate's LAST epoch validation accuracy instead of its best epoch's."""

TASK = "mnist_baseline"
CELL = "mnist_baseline_solution"
PATCH = [("results.append((hparams, float(solver.best_val_acc)))",
          "results.append((hparams, float(solver.val_acc_history[-1])))")]
