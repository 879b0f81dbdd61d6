"""build_cnn as an nn.Module holding one nested nn.Sequential per block (convolutions, batch norms and ReLUs
only); the 2 x 2 max pooling is F.max_pool2d in forward and the global average pool adaptive_avg_pool2d
(same computation, no pooling modules to count)."""

TASK = "build_cnn"
CELL = "build_cnn_solution"
SOURCE = '''
class _Blocks(nn.Module):
    def __init__(self, in_channels, num_classes):
        super().__init__()
        plan = ((64, 64), (128, 128), (256, 256, 256))
        self.blocks = nn.ModuleList()
        channels = in_channels
        for widths in plan:
            layers = []
            for w in widths:
                layers += [nn.Conv2d(channels, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
                channels = w
            self.blocks.append(nn.Sequential(*layers))
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x):
        for block in self.blocks:
            x = F.max_pool2d(block(x), kernel_size=2, stride=2)
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def build_cnn(in_channels=3, num_classes=10):
    return _Blocks(in_channels, num_classes)
'''
