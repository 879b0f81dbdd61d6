"""evaluate averaging the per-batch mean losses: the smaller last batch weighs as much as a full one."""

TASK = "evaluate"
CELL = "evaluate_solution"
PATCH = [
    (
        'F.cross_entropy(scores.float(), y, reduction="sum")',
        'F.cross_entropy(scores.float(), y)',
    ),
    (
        '"loss": total_loss.item() / count',
        '"loss": total_loss.item() / len(batches)',
    ),
]
