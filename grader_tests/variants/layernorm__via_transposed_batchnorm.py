"""Layer norm computed by batch-normalising the transposed input (one column per sample),
with the student's own batchnorm_forward / batchnorm_backward."""

TASK = "layernorm_forward"
CELL = "layernorm_forward_solution"
SOURCE = '''
def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    n = x.shape[0]
    ones, zeros = np.ones(n, dtype=x.dtype), np.zeros(n, dtype=x.dtype)
    x_hat_t, bn_cache = batchnorm_forward(x.T, ones, zeros, {"mode": "train", "eps": eps})
    x_hat = x_hat_t.T
    out = gamma * x_hat + beta
    return out, (bn_cache, x_hat, gamma)
'''
EXTRA_CELLS = {
    "layernorm_backward_solution": '''
def layernorm_backward(dout, cache):
    bn_cache, x_hat, gamma = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_t, _, _ = batchnorm_backward((dout * gamma).T, bn_cache)
    return dx_t.T, dgamma, dbeta
''',
}
