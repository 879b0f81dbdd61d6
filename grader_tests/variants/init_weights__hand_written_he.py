"""init_weights written by hand: in-place normal_/fill_/zero_ under torch.no_grad(), std computed
from the weight shape, isinstance on the _BatchNorm base class."""

TASK = "init_weights"
CELL = "init_weights_solution"
SOURCE = '''
def init_weights(model):
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                c_out, _, kh, kw = module.weight.shape
                module.weight.normal_(0.0, math.sqrt(2.0 / (c_out * kh * kw)))
            elif isinstance(module, nn.Linear):
                module.weight.normal_(0.0, 1e-2)
            elif isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.weight.fill_(1.0)
            else:
                continue
            if module.bias is not None:
                module.bias.zero_()
    return model
'''
