"""init_weights with model.apply (which visits every submodule at any depth and returns the model itself),
one initialiser per kind looked up by type, the batch-norm base class for both batch norms."""

TASK = "init_weights"
CELL = "init_weights_solution"
SOURCE = '''
def _init_conv(m):
    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


def _init_linear(m):
    nn.init.normal_(m.weight, 0.0, 0.01)


def _init_norm(m):
    nn.init.constant_(m.weight, 1.0)


def _init_one(module):
    for kind, init in ((nn.Conv2d, _init_conv), (nn.Linear, _init_linear),
                       (nn.modules.batchnorm._BatchNorm, _init_norm)):
        if isinstance(module, kind):
            init(module)
            if getattr(module, "bias", None) is not None:
                nn.init.constant_(module.bias, 0.0)


def init_weights(model):
    return model.apply(_init_one)
'''
