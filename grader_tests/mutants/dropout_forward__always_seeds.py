"""Seeds numpy with 0 when no seed is given: every call draws the same mask (stale state)."""

TASK = "dropout_forward"
CELL = "dropout_forward_solution"
PATCH = [
    (
        'if "seed" in dropout_param:\n'
        '        np.random.seed(dropout_param["seed"])',
        'np.random.seed(dropout_param.get("seed", 0))',
    ),
]
