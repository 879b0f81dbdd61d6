"""conv -> ReLU -> BatchNorm2d instead of conv -> BatchNorm2d -> ReLU."""

TASK = "build_cnn"
CELL = "build_cnn_solution"
PATCH = [(
    "                nn.BatchNorm2d(item),\n                nn.ReLU(inplace=True),\n",
    "                nn.ReLU(inplace=True),\n                nn.BatchNorm2d(item),\n",
)]
