"""train_one_epoch never zeroes the gradients: they accumulate over the batches."""

TASK = "train_one_epoch"
CELL = "train_one_epoch_solution"
PATCH = [('        optimizer.zero_grad(set_to_none=True)\n', '')]
