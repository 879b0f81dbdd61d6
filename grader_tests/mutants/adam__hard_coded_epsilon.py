"""epsilon hard-coded to 1e-8 instead of config["epsilon"]."""

TASK = "adam"
CELL = "adam_solution"
PATCH = [('(np.sqrt(v_hat) + config["epsilon"])', "(np.sqrt(v_hat) + 1e-8)")]
