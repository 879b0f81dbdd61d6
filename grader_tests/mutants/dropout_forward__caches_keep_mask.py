"""Dropout forward scales the output right but caches the 0/1 keep mask, without the 1/p the documented mask
carries: a backward written as documented (dout * mask) then misses the 1/p."""

TASK = "dropout_forward"
CELL = "dropout_forward_solution"
PATCH = [(
    "        mask = ((np.random.rand(*x.shape) < p) / p).astype(x.dtype, copy=False)\n        out = x * mask",
    "        keep = np.random.rand(*x.shape) < p\n        out = x * keep / x.dtype.type(p)\n        mask = keep",
)]
