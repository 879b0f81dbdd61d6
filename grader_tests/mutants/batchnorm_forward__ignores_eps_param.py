"""Hard-codes eps = 1e-5 instead of reading bn_param['eps']."""

TASK = "batchnorm_forward"
CELL = "batchnorm_forward_solution"
PATCH = [
    (
        'eps = bn_param.get("eps", 1e-5)',
        'eps = 1e-5',
    ),
]
