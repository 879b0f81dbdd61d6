"""epsilon hard-coded to 1e-8 instead of config["epsilon"]."""

TASK = "rmsprop"
CELL = "rmsprop_solution"
PATCH = [('(np.sqrt(config["cache"]) + config["epsilon"])', '(np.sqrt(config["cache"]) + 1e-8)')]
