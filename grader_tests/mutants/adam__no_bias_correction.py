"""Adam without bias correction: the raw m and v are used, so early steps are far too small."""

TASK = "adam"
CELL = "adam_solution"
PATCH = [
    ('m_hat = config["m"] / (1 - b1**t)', 'm_hat = config["m"]'),
    ('v_hat = config["v"] / (1 - b2**t)', 'v_hat = config["v"]'),
]
