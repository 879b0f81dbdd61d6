"""The lab report's order: the step uses the bias-corrected OLD m and v; m and v are updated afterwards."""

TASK = "adam"
CELL = "adam_solution"
PATCH = [
    (
        '    config["m"] = b1 * config["m"] + (1 - b1) * dw\n'
        '    config["v"] = b2 * config["v"] + (1 - b2) * dw * dw\n'
        '    m_hat = config["m"] / (1 - b1**t)\n'
        '    v_hat = config["v"] / (1 - b2**t)\n'
        '    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])',
        '    m_hat = config["m"] / (1 - b1**t)\n'
        '    v_hat = config["v"] / (1 - b2**t)\n'
        '    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])\n'
        '    config["m"] = b1 * config["m"] + (1 - b1) * dw\n'
        '    config["v"] = b2 * config["v"] + (1 - b2) * dw * dw',
    )
]
