"""affine_forward with an explicit loop over the samples (ravel each one) and a preallocated output."""

TASK = "affine_forward"
CELL = "affine_forward_solution"
SOURCE = '''
def affine_forward(x, w, b):
    n = x.shape[0]
    out = np.empty((n, w.shape[1]), dtype=np.result_type(x, w, b))
    for i in range(n):
        out[i] = x[i].ravel() @ w + b
    return out, (x, w, b)
'''
