"""ReLU that multiplies by a boolean mask and caches the mask instead of x."""

TASK = "relu_backward"
CELL = "relu_backward_solution"
SOURCE = '''
def relu_backward(dout, cache):
    return np.where(cache, dout, np.zeros_like(dout))
'''
EXTRA_CELLS = {
    "relu_forward_solution": '''
def relu_forward(x):
    positive = x > 0
    return x * positive, positive
''',
}
