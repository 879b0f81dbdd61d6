"""Running mean updated as (1 - momentum) * running + momentum * batch mean."""

TASK = "batchnorm_forward"
CELL = "batchnorm_forward_solution"
PATCH = [
    (
        'running_mean = momentum * running_mean + (1 - momentum) * mean',
        'running_mean = (1 - momentum) * running_mean + momentum * mean',
    ),
]
