"""train_one_epoch without model.train(): a model left in eval mode by evaluate() trains with
frozen batch-norm statistics and no dropout."""

TASK = "train_one_epoch"
CELL = "train_one_epoch_solution"
PATCH = [('    model.train()\n', '')]
