"""The provided experiment code that tests the report's conclusions (labutils.evidence, notebook 05)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from torch import nn

from .helpers.paths import SOURCE

sys.path.insert(0, str(SOURCE))

from labutils.evidence import (  # noqa: E402
    PermutePixels,
    confusion_matrix,
    first_layer_templates,
    make_mlp,
    per_class_accuracy,
    permuted,
    pixel_permutation,
    predict,
)


def test_pixel_permutation_moves_pixels_not_values_and_is_the_same_for_every_image_and_channel():
    perm = pixel_permutation(4, 4, seed=3)
    assert sorted(perm.tolist()) == list(range(16)) and perm.tolist() != list(range(16))
    x = torch.arange(2 * 3 * 16, dtype=torch.float32).reshape(2, 3, 4, 4)
    out = PermutePixels(perm)(x)
    assert out.shape == x.shape
    for n in range(2):
        for c in range(3):
            assert torch.equal(out[n, c].flatten(), x[n, c].flatten()[perm])
    assert torch.equal(pixel_permutation(4, 4, seed=3), perm)  # fixed by its seed


def test_a_permuted_mlp_is_the_same_function_as_an_mlp_with_reindexed_weights():
    torch.manual_seed(0)
    perm = pixel_permutation(32, 32, seed=1)
    mlp = make_mlp([16], in_channels=1).eval()
    shuffled = permuted(mlp, perm).eval()
    reindexed = make_mlp([16], in_channels=1).eval()
    reindexed.load_state_dict(mlp.state_dict())
    inverse = torch.argsort(perm)
    with torch.no_grad():
        reindexed[1].weight.copy_(mlp[1].weight[:, inverse])
    x = torch.randn(5, 1, 32, 32)
    torch.testing.assert_close(shuffled(x), reindexed(x), rtol=1e-5, atol=1e-5)


def test_confusion_matrix_and_per_class_accuracy():
    labels = np.array([0, 0, 1, 1, 1, 2])
    preds = np.array([0, 1, 1, 1, 0, 2])
    matrix = confusion_matrix(labels, preds, num_classes=4)
    assert matrix.tolist() == [[1, 1, 0, 0], [1, 2, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    acc = per_class_accuracy(matrix)
    np.testing.assert_allclose(acc[:3], [0.5, 2 / 3, 1.0])
    assert np.isnan(acc[3])
    with pytest.raises(ValueError, match="labels but"):
        confusion_matrix(labels, preds[:-1])


def test_predict_uses_eval_mode_and_restores_the_mode():
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.9), nn.Linear(4, 3)).train()
    batches = [(torch.randn(6, 1, 2, 2), torch.tensor([0, 1, 2, 0, 1, 2]))] * 2
    labels, first = predict(model, batches, "cpu")
    _, second = predict(model, batches, "cpu")
    assert labels.shape == first.shape == (12,) and np.array_equal(first, second)  # no dropout noise
    assert model.training


def test_first_layer_templates_are_the_largest_weight_rows_as_unit_range_images():
    model = make_mlp([8], in_channels=3)
    with torch.no_grad():
        model[1].weight.mul_(torch.arange(1, 9, dtype=torch.float32)[:, None])
    images = first_layer_templates(model, (3, 32, 32), count=3)
    assert images.shape == (3, 32, 32, 3) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1
    expected = model[1].weight[7].detach().numpy().reshape(3, 32, 32).transpose(1, 2, 0)
    scaled = (expected - expected.min()) / (expected.max() - expected.min())
    np.testing.assert_allclose(images[0], scaled, atol=1e-6)
    with pytest.raises(ValueError, match="first Linear layer"):
        first_layer_templates(model, (1, 32, 32))


def test_make_mlp_reproduces_the_notebook_mlp_size():
    assert sum(p.numel() for p in make_mlp([1024, 512, 512]).parameters()) == 3_943_434
