"""build_cnn as an nn.Module of its own: the classifier registered first, convolutions and batch norms in
two ModuleLists, one MaxPool2d module called three times and a functional ReLU and global average pool
(the same computation, registered in another order)."""

TASK = "build_cnn"
CELL = "build_cnn_solution"
SOURCE = '''
class _VGGish(nn.Module):
    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.head = nn.Linear(256, num_classes)
        widths = [in_channels, 64, 64, 128, 128, 256, 256, 256]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1, bias=False) for a, b in zip(widths[:-1], widths[1:]))
        self.norms = nn.ModuleList(nn.BatchNorm2d(b) for b in widths[1:])
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = torch.relu(norm(conv(x)))
            if i in (1, 3, 6):
                x = self.pool(x)
        return self.head(x.mean(dim=(2, 3)))


def build_cnn(in_channels=3, num_classes=10):
    return _VGGish(in_channels, num_classes)
'''
