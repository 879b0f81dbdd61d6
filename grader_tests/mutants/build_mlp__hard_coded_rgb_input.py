"""build_mlp with the input width hard-coded to 3 * 32 * 32: build_mlp(1) cannot take grayscale images."""

TASK = "build_mlp"
CELL = "build_mlp_solution"
PATCH = [('width = in_channels * 32 * 32', 'width = 3 * 32 * 32')]
