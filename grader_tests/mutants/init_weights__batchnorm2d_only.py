"""init_weights resets only nn.BatchNorm2d (the CNN's kind): nn.BatchNorm1d layers are not reached."""

TASK = "init_weights"
CELL = "init_weights_solution"
PATCH = [("elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):", "elif isinstance(module, nn.BatchNorm2d):")]
