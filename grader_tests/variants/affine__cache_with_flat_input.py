"""Affine layer whose cache also keeps the flattened input and the original shape (4 entries);
the backward uses tensordot."""

TASK = "affine_backward"
CELL = "affine_backward_solution"
SOURCE = '''
def affine_backward(dout, cache):
    x_flat, shape, w, b = cache
    dx = np.tensordot(dout, w, axes=([1], [1])).reshape(shape)
    dw = np.tensordot(x_flat, dout, axes=([0], [0]))
    db = np.add.reduce(dout, axis=0)
    return dx, dw, db
'''
EXTRA_CELLS = {
    "affine_forward_solution": '''
def affine_forward(x, w, b):
    x_flat = np.reshape(x, (len(x), -1))
    out = np.dot(x_flat, w) + b
    return out, (x_flat, x.shape, w, b)
''',
}
