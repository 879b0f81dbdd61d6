"""build_mlp puts its first Dropout on the flattened input pixels and none after the last hidden layer
(three nn.Dropout(0.3), one of them in the wrong place)."""

TASK = "build_mlp"
CELL = "build_mlp_solution"
SOURCE = '''
def build_mlp(in_channels=3, num_classes=10):
    layers = [nn.Flatten(), nn.Dropout(0.3)]
    width = in_channels * 32 * 32
    for i, hidden in enumerate((1024, 512, 512)):
        layers += [nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True)]
        if i < 2:
            layers.append(nn.Dropout(0.3))
        width = hidden
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)
'''
