"""Experiments of notebook 05 that test the report's conclusions (provided code, PyTorch).

* :class:`PermutePixels` / :func:`permuted`: the same fixed random permutation of the 32 x 32
  pixel positions for every image (applied inside the model, after augmentation). An MLP is
  unaffected in principle (a fully connected layer can re-index its inputs); a CNN loses the
  neighbourhoods its 3 x 3 kernels rely on.
* :func:`predict`, :func:`confusion_matrix`, :func:`per_class_accuracy`: where each model errs.
* :func:`first_layer_templates`: the first-layer weights of an MLP as images.
* :func:`make_mlp`: MLPs of any depth and width for the depth/width sweep.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch import nn


class PermutePixels(nn.Module):
    """Reorder the H*W pixel positions of every image by one fixed permutation (all channels alike).

    Input and output: float tensors ``(N, C, H, W)``; ``perm`` is a permutation of ``range(H*W)``.
    """

    def __init__(self, perm: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("perm", torch.as_tensor(perm, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.reshape(n, c, h * w)[:, :, self.perm].reshape(n, c, h, w)


def pixel_permutation(height: int = 32, width: int = 32, seed: int = 0) -> torch.Tensor:
    """A fixed random permutation of ``height * width`` pixel positions (int64, CPU)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randperm(height * width, generator=gen)


def permuted(model: nn.Module, perm: torch.Tensor) -> nn.Sequential:
    """``model`` that sees every image with its pixels permuted by ``perm``."""
    return nn.Sequential(PermutePixels(perm), model)


@torch.no_grad()
def predict(model: nn.Module, batches: Iterable, device: torch.device | str) -> tuple[np.ndarray, np.ndarray]:
    """Labels and predicted classes (two int64 arrays of shape (N,)) of ``model`` in eval mode."""
    was_training = model.training
    model.eval()
    labels, preds = [], []
    for x, y in batches:
        scores = model(x.to(device))
        preds.append(scores.argmax(dim=1).cpu())
        labels.append(y.cpu())
    model.train(was_training)
    return torch.cat(labels).numpy(), torch.cat(preds).numpy()


def confusion_matrix(labels: np.ndarray, preds: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Counts ``(num_classes, num_classes)`` int64: row = true class, column = predicted class."""
    labels, preds = np.asarray(labels, dtype=np.int64), np.asarray(preds, dtype=np.int64)
    if labels.shape != preds.shape:
        raise ValueError(f"{labels.shape[0]} labels but {preds.shape[0]} predictions")
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, preds), 1)
    return matrix


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Recall of each class (float64 (C,)): the diagonal over the row sums (nan for an empty class)."""
    totals = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(matrix) / np.maximum(totals, 1), np.nan)


def first_layer_templates(model: nn.Module, image_shape: Sequence[int] = (3, 32, 32), count: int = 32) -> np.ndarray:
    """The first Linear layer's weight rows with the largest norms, as images.

    Returns float32 ``(count, H, W, C)`` scaled to [0, 1] image by image (for ``imshow``), rows
    sorted by decreasing norm. Raises ValueError when the model has no Linear layer of the right size.
    """
    linear = next((m for m in model.modules() if isinstance(m, nn.Linear)), None)
    size = int(np.prod(image_shape))
    if linear is None or linear.in_features != size:
        raise ValueError(f"expected a first Linear layer with {size} inputs")
    w = linear.weight.detach().float().cpu().numpy()
    order = np.argsort(-np.linalg.norm(w, axis=1))[:count]
    images = w[order].reshape(len(order), *image_shape).transpose(0, 2, 3, 1)
    lo = images.min(axis=(1, 2, 3), keepdims=True)
    hi = images.max(axis=(1, 2, 3), keepdims=True)
    return ((images - lo) / np.maximum(hi - lo, 1e-12)).astype(np.float32)


def make_mlp(hidden: Sequence[int], in_channels: int = 3, num_classes: int = 10, dropout: float = 0.3) -> nn.Sequential:
    """Flatten, then (Linear, BatchNorm1d, ReLU, Dropout) per entry of ``hidden``, then Linear.

    ``make_mlp([1024, 512, 512])`` is notebook 05's MLP (3,943,434 parameters for RGB input)."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_channels * 32 * 32
    for units in hidden:
        layers += [nn.Linear(width, units), nn.BatchNorm1d(units), nn.ReLU(), nn.Dropout(dropout)]
        width = units
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)
