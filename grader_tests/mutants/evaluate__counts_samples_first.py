"""evaluate walks the batches twice: once to count the samples, once for the loss and accuracy (right on a
list, wrong on a stream that can be read once, and twice the work)."""

TASK = "evaluate"
CELL = "evaluate_solution"
PATCH = [("    count = 0\n    with torch.no_grad():",
          "    count = sum(len(y) for _, y in batches)\n    with torch.no_grad():"),
         ("            count += y.shape[0]\n", "")]
