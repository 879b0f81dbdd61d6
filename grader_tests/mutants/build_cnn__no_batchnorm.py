"""build_cnn without the BatchNorm2d after each convolution."""

TASK = "build_cnn"
CELL = "build_cnn_solution"
PATCH = [('                nn.BatchNorm2d(item),\n', '')]
