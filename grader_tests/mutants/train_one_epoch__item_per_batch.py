"""Reads the loss with loss.item() on every batch: a host synchronisation per batch on a GPU."""

TASK = "train_one_epoch"
CELL = "train_one_epoch_solution"
PATCH = [("total_loss += loss.detach().float() * y.shape[0]", "total_loss += loss.item() * y.shape[0]")]
