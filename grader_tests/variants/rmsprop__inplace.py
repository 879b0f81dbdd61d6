"""RMSProp with an in-place cache update and an explicit per-entry step size."""

TASK = "rmsprop"
CELL = "rmsprop_solution"
SOURCE = '''
def rmsprop(w, dw, config=None):
    config = {} if config is None else config
    for key, value in (("learning_rate", 1e-2), ("decay_rate", 0.99), ("epsilon", 1e-8)):
        if key not in config:
            config[key] = value
    cache = config.get("cache")
    if cache is None:
        cache = np.zeros_like(w)
    cache = np.array(cache, dtype=np.float64)
    cache *= config["decay_rate"]
    cache += (1 - config["decay_rate"]) * np.square(dw)
    config["cache"] = cache
    step_size = config["learning_rate"] / (np.sqrt(cache) + config["epsilon"])
    w -= step_size * dw
    return w, config
'''
