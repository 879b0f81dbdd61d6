"""Adam in the paper's efficient form: bias correction folded into the step size,
lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t), epsilon added to sqrt(v) (not sqrt(v_hat))."""

TASK = "adam"
CELL = "adam_solution"
SOURCE = '''
def adam(w, dw, config=None):
    if config is None:
        config = {}
    defaults = {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 0}
    for key, value in defaults.items():
        config.setdefault(key, value)
    m = config.get("m", np.zeros_like(w))
    v = config.get("v", np.zeros_like(w))
    beta1, beta2 = config["beta1"], config["beta2"]
    t = config["t"] + 1
    m = m + (1 - beta1) * (dw - m)
    v = v + (1 - beta2) * (dw ** 2 - v)
    lr_t = config["learning_rate"] * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    next_w = w - lr_t * m / (np.sqrt(v) + config["epsilon"])
    config.update(m=m, v=v, t=t)
    return next_w, config
'''
