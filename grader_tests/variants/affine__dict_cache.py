"""Affine layer with a dict cache {"x_flat", "shape", "w"} and a backward that reads it."""

TASK = "affine_forward"
CELL = "affine_forward_solution"
SOURCE = '''
def affine_forward(x, w, b):
    x_flat = x.reshape(len(x), -1)
    return x_flat @ w + b, {"x_flat": x_flat, "shape": x.shape, "w": w}
'''
EXTRA_CELLS = {
    "affine_backward_solution": '''
def affine_backward(dout, cache):
    dx = (dout @ cache["w"].T).reshape(cache["shape"])
    return dx, cache["x_flat"].T @ dout, dout.sum(axis=0)
''',
}
