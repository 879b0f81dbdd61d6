"""evaluate soft-maxes the scores before F.cross_entropy: the reported loss is computed on probabilities
(the accuracy is right, the loss is not the model's cross-entropy)."""

TASK = "evaluate"
CELL = "evaluate_solution"
PATCH = [("F.cross_entropy(scores.float(), y, reduction=\"sum\")",
          "F.cross_entropy(scores.float().softmax(dim=1), y, reduction=\"sum\")")]
