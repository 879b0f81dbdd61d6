"""Inverted dropout with the documented draw written as a boolean keep array, a dict cache and a
backward that reads the mode from the cache."""

TASK = "dropout_forward"
CELL = "dropout_forward_solution"
SOURCE = '''
def dropout_forward(x, dropout_param):
    p = dropout_param["p"]
    mode = dropout_param["mode"]
    if dropout_param.get("seed") is not None:
        np.random.seed(dropout_param["seed"])
    if mode == "train":
        keep = (np.random.rand(*x.shape) < p).astype(x.dtype)
        mask = keep / x.dtype.type(p)
        return x * mask, {"mode": mode, "mask": mask}
    if mode == "test":
        return np.array(x, copy=True), {"mode": mode, "mask": None}
    raise ValueError(mode)
'''
EXTRA_CELLS = {
    "dropout_backward_solution": '''
def dropout_backward(dout, cache):
    if cache["mode"] == "train":
        return dout * cache["mask"]
    return np.array(dout, copy=True)
''',
}
