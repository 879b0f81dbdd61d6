"""build_mlp from nested blocks (an nn.Sequential per hidden layer inside the model's nn.Sequential), each
Linear -> BatchNorm1d -> Dropout -> ReLU: dropout before the ReLU computes the same (the two commute), and
an nn.Identity after the last Linear changes nothing."""

TASK = "build_mlp"
CELL = "build_mlp_solution"
SOURCE = '''
def _hidden_block(width_in, width_out):
    return nn.Sequential(nn.Linear(width_in, width_out), nn.BatchNorm1d(width_out), nn.Dropout(p=0.3), nn.ReLU())


def build_mlp(in_channels=3, num_classes=10):
    widths = [in_channels * 32 * 32, 1024, 512, 512]
    blocks = [_hidden_block(a, b) for a, b in zip(widths[:-1], widths[1:])]
    head = nn.Sequential(nn.Linear(widths[-1], num_classes), nn.Identity())
    return nn.Sequential(nn.Flatten(start_dim=1), nn.Sequential(*blocks), head)
'''
