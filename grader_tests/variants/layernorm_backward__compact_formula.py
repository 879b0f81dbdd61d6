"""layernorm_backward in the compact per-sample form with explicit means over the features."""

TASK = "layernorm_backward"
CELL = "layernorm_backward_solution"
SOURCE = '''
def layernorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache
    g = dout * gamma
    dx = inv_std * (g - g.mean(axis=1, keepdims=True) - x_hat * (g * x_hat).mean(axis=1, keepdims=True))
    return dx, np.einsum("nd,nd->d", dout, x_hat), dout.sum(axis=0)
'''
