"""He initialisation on the linear layers too, instead of N(0, 0.01^2)."""

TASK = "init_weights"
CELL = "init_weights_solution"
PATCH = [
    (
        'nn.init.normal_(module.weight, mean=0.0, std=0.01)',
        'nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")',
    ),
]
