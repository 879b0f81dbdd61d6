"""build_cnn pools with a 3 x 3 window, stride 1 and padding 1: the feature maps are never shrunk
(32 x 32 all the way to the global pooling)."""

TASK = "build_cnn"
CELL = "build_cnn_solution"
PATCH = [("layers.append(nn.MaxPool2d(2))", "layers.append(nn.MaxPool2d(3, stride=1, padding=1))")]
