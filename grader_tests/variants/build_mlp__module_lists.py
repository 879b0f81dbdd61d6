"""build_mlp as an nn.Module of its own: the Linear layers in one ModuleList, the batch norms in another,
ReLU and dropout from torch.nn.functional in forward (the same computation, registered in another order)."""

TASK = "build_mlp"
CELL = "build_mlp_solution"
SOURCE = '''
class _MLP(nn.Module):
    def __init__(self, in_channels, num_classes):
        super().__init__()
        widths = [in_channels * 32 * 32, 1024, 512, 512]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.norms = nn.ModuleList(nn.BatchNorm1d(b) for b in widths[1:])
        self.drop = nn.Dropout(0.3)
        self.out = nn.Linear(widths[-1], num_classes)

    def forward(self, x):
        x = x.flatten(1)
        for linear, norm in zip(self.linears, self.norms):
            x = self.drop(torch.relu(norm(linear(x))))
        return self.out(x)


def build_mlp(in_channels=3, num_classes=10):
    return _MLP(in_channels, num_classes)
'''
