"""The epoch scheduler stepped after every batch (as well as after the epoch)."""

TASK = "train_one_epoch"
CELL = "train_one_epoch_solution"
PATCH = [
    (
        '        optimizer.step()\n',
        '        optimizer.step()\n        if scheduler is not None:\n            scheduler.step()\n',
    ),
]
