"""RMSProp divides by the cache itself instead of its square root."""

TASK = "rmsprop"
CELL = "rmsprop_solution"
PATCH = [('np.sqrt(config["cache"]) + config["epsilon"]', 'config["cache"] + config["epsilon"]')]
