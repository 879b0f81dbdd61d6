"""batchnorm_backward in the compact form dx = gamma / std * (dout - mean(dout) - x_hat * mean(dout * x_hat))."""

TASK = "batchnorm_backward"
CELL = "batchnorm_backward_solution"
SOURCE = '''
def batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx = (gamma * inv_std) * (dout - dout.mean(axis=0) - x_hat * (dout * x_hat).mean(axis=0))
    return dx, dgamma, dbeta
'''
