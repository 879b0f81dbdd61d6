"""Never seeds numpy: dropout_param['seed'] does not make the mask reproducible."""

TASK = "dropout_forward"
CELL = "dropout_forward_solution"
PATCH = [
    (
        'np.random.seed(dropout_param["seed"])',
        'pass',
    ),
]
