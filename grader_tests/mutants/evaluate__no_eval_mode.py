"""evaluate without model.eval(): dropout stays on and batch norm uses (and updates) batch statistics."""

TASK = "evaluate"
CELL = "evaluate_solution"
PATCH = [('    model.eval()\n    total_loss', '    total_loss')]
