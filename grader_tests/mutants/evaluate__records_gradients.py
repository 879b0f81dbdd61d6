"""evaluate without torch.no_grad(): every forward pass builds an autograd graph."""

TASK = "evaluate"
CELL = "evaluate_solution"
PATCH = [('    with torch.no_grad():\n        for x, y in batches:', '    if True:\n        for x, y in batches:')]
