"""relu_forward with np.where and a cache tuple."""

TASK = "relu_forward"
CELL = "relu_forward_solution"
SOURCE = '''
def relu_forward(x):
    out = np.where(x > 0, x, np.zeros_like(x))
    return out, x
'''
