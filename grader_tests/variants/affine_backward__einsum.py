"""affine_backward written with einsum and an explicit flatten."""

TASK = "affine_backward"
CELL = "affine_backward_solution"
SOURCE = '''
def affine_backward(dout, cache):
    x, w, b = cache
    n = x.shape[0]
    flat = x.reshape(n, -1)
    dw = np.einsum("nd,nm->dm", flat, dout)
    db = np.einsum("nm->m", dout)
    dx = np.einsum("nm,dm->nd", dout, w).reshape(x.shape)
    return dx, dw, db
'''
