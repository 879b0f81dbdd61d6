"""build_cnn with 5 x 5 convolutions (padding 2) instead of 3 x 3: about 2.8x the parameters."""

TASK = "build_cnn"
CELL = "build_cnn_solution"
PATCH = [('kernel_size=3, stride=1, padding=1', 'kernel_size=5, stride=1, padding=2')]
