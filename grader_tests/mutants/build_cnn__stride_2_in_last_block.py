"""build_cnn downsampling with stride-2 convolutions in the 256 block (on top of max pooling)."""

TASK = "build_cnn"
CELL = "build_cnn_solution"
PATCH = [('kernel_size=3, stride=1, padding=1', 'kernel_size=3, stride=2 if item == 256 else 1, padding=1')]
