"""train_one_epoch minimising the squared error to one-hot labels instead of the cross-entropy."""

TASK = "train_one_epoch"
CELL = "train_one_epoch_solution"
PATCH = [('loss = F.cross_entropy(scores, y)', 'loss = F.mse_loss(scores, F.one_hot(y, 10).float())')]
