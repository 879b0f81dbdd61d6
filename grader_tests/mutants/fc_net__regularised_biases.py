"""L2 regularisation also applied to the biases (loss and gradients)."""

TASK = "fc_net"
CELL = "fc_net_solution"
PATCH = [
    (
        'loss += 0.5 * self.reg * sum(np.sum(self.params[f"W{i}"] ** 2) for i in range(1, L + 1))',
        'loss += 0.5 * self.reg * sum(np.sum(self.params[f"W{i}"] ** 2) + np.sum(self.params[f"b{i}"] ** 2)\n'
        "                                      for i in range(1, L + 1))",
    ),
    ('grads[f"b{L}"] = db', 'grads[f"b{L}"] = db + self.reg * self.params[f"b{L}"]'),
    ('grads[f"b{i}"] = db', 'grads[f"b{i}"] = db + self.reg * self.params[f"b{i}"]'),
]
