"""to_grayscale with torchvision's rgb_to_grayscale (weights 0.2989/0.587/0.114, uint8 truncated)."""

TASK = "to_grayscale"
CELL = "to_grayscale_solution"
SOURCE = '''
from torchvision.transforms.functional import rgb_to_grayscale


def to_grayscale(images):
    return rgb_to_grayscale(images, num_output_channels=1)
'''
