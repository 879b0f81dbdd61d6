"""Inverted dropout that caches the 0/1 keep mask and p (not the documented scaled mask); its own backward
divides by p again: a consistent layout of its own, so both passes are right."""

TASK = "dropout_backward"
CELL = "dropout_backward_solution"
SOURCE = '''
def dropout_backward(dout, cache):
    param, keep = cache
    if param["mode"] != "train":
        return dout.copy()
    return dout * keep / dout.dtype.type(param["p"])
'''
EXTRA_CELLS = {
    "dropout_forward_solution": '''
def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    if mode == "train":
        keep = np.random.rand(*x.shape) < p
        return x * keep / x.dtype.type(p), (dropout_param, keep)
    if mode == "test":
        return x.copy(), (dropout_param, None)
    raise ValueError(mode)
''',
}
