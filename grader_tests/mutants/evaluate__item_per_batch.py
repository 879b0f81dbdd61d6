"""Counts the correct predictions with .item() on every batch: a host synchronisation per batch."""

TASK = "evaluate"
CELL = "evaluate_solution"
PATCH = [("correct += (scores.argmax(dim=1) == y).sum()", "correct += (scores.argmax(dim=1) == y).sum().item()")]
