"""hparams["kp"] treated as a DROP probability: dropout_keep_ratio = 1 - kp."""

TASK = "mnist_baseline"
CELL = "mnist_baseline_solution"
PATCH = [('dropout_keep_ratio=hparams["kp"]', 'dropout_keep_ratio=1 - hparams["kp"]')]
