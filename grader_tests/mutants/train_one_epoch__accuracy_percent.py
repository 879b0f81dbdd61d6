"""train_one_epoch returning the accuracy as a percentage (0..100) instead of a fraction."""

TASK = "train_one_epoch"
CELL = "train_one_epoch_solution"
PATCH = [('"accuracy": correct.item() / count}', '"accuracy": 100 * correct.item() / count}')]
