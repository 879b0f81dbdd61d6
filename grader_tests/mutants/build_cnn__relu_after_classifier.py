"""build_cnn puts a ReLU after its last Linear layer (every layer 'followed by ReLU'): negative scores
are clipped to 0."""

TASK = "build_cnn"
CELL = "build_cnn_solution"
PATCH = [("nn.Flatten(), nn.Linear(channels, num_classes)]",
          "nn.Flatten(), nn.Linear(channels, num_classes), nn.ReLU()]")]
