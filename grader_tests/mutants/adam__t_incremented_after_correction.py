"""t is incremented only after the bias correction, so the correction uses the previous step count."""

TASK = "adam"
CELL = "adam_solution"
PATCH = [
    ('    config["t"] += 1\n    t = config["t"]\n', '    t = max(config["t"], 1)\n'),
    ("    v_hat = config", '    config["t"] += 1\n    v_hat = config'),
]
