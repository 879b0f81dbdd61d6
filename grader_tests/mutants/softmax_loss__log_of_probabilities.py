"""Takes np.log of the probabilities: -inf once a probability underflows (large scores)."""

TASK = "softmax_loss"
CELL = "softmax_loss_solution"
PATCH = [
    (
        'log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))',
        'probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)\n'
        '    log_probs = np.log(probs)',
    ),
]
