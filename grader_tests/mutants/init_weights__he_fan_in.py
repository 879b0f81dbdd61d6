"""He initialisation of the convolutions with mode="fan_in" (the PyTorch default) instead of fan_out."""

TASK = "init_weights"
CELL = "init_weights_solution"
PATCH = [('kaiming_normal_(module.weight, mode="fan_out"', 'kaiming_normal_(module.weight, mode="fan_in"')]
