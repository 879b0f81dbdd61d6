"""build_cnn adds nn.Dropout(0.3) after every max pooling (the specified CNN has no dropout; eval-mode
scores and parameter count are unchanged)."""

TASK = "build_cnn"
CELL = "build_cnn_solution"
PATCH = [("layers.append(nn.MaxPool2d(2))", "layers += [nn.MaxPool2d(2), nn.Dropout(0.3)]")]
