"""Unbiased variance (ddof=1) in the forward pass, with the cache ordered (gamma, inv_std, x_hat) and a
correct backward pass for that order: the forward bug must not cost backward points."""

TASK = "batchnorm_forward"
CELL = "batchnorm_forward_solution"
PATCH = [
    ("var = (centred * centred).mean(axis=0)", "var = (centred * centred).sum(axis=0) / (x.shape[0] - 1)"),
    ("cache = (x_hat, gamma, inv_std)", "cache = (gamma, inv_std, x_hat)"),
]
EXTRA_CELLS = {
    "batchnorm_backward_solution": '''
def batchnorm_backward(dout, cache):
    gamma, inv_std, x_hat = cache
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dx = (inv_std / n) * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))
    return dx, dgamma, dbeta
''',
}
