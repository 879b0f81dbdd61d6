"""build_cnn without the last max pooling (global average pooling over 8 x 8): same parameters."""

TASK = "build_cnn"
CELL = "build_cnn_solution"
PATCH = [('256, 256, 256, "pool")', '256, 256, 256)')]
