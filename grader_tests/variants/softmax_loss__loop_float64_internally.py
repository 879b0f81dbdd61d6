"""softmax_loss looping over the samples, computing in float64 and casting dx back to x's dtype."""

TASK = "softmax_loss"
CELL = "softmax_loss_solution"
SOURCE = '''
def softmax_loss(x, y):
    z = np.asarray(x, dtype=np.float64)
    n = z.shape[0]
    loss = 0.0
    dx = np.zeros_like(z)
    for i in range(n):
        row = z[i] - np.max(z[i])
        log_sum = np.log(np.sum(np.exp(row)))
        loss -= row[y[i]] - log_sum
        dx[i] = np.exp(row - log_sum)
        dx[i, y[i]] -= 1.0
    return loss / n, (dx / n).astype(x.dtype)
'''
