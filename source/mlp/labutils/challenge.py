"""The optional challenge of notebook 04 (task ``fc_net_challenge``): save a trained network for grading.

Your ``train_challenge_model(data)`` returns a trained ``FullyConnectedNet``; :func:`save_challenge_model`
writes what the grader needs into ``fc_net_challenge.npz`` next to the notebook. Submit that file with the
notebook. The grader never runs your code for this task: it reads the arrays below and computes the
forward pass ``{affine - [batch/layer norm] - relu} x (L - 1) - affine`` itself (dropout is the identity
at test time), on CIFAR-10 images it keeps hidden from you.

What the file holds (``numpy.savez``, plain arrays only, no pickled objects):

* ``W1 .. WL`` float arrays of shape (D_in, D_out) and ``b1 .. bL`` of shape (D_out,), ``W1`` with
  D_in = 3 * 32 * 32 and ``WL`` with D_out = 10;
* ``normalization``: the text ``"none"``, ``"batchnorm"`` or ``"layernorm"``; with normalisation also
  ``gamma1 .. gamma(L-1)`` and ``beta1 .. beta(L-1)`` (shape (D_out,)), with batch normalisation also
  ``running_mean1 ..`` and ``running_var1 ..`` (the averages test mode uses) and ``eps`` (a number);
* ``mean_image``: float array of shape (3, 32, 32), the mean your training images had subtracted; the
  grader scales the hidden images to [0, 1] and subtracts it, as ``labutils.data.load_cifar10`` does.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from labutils import quick_mode

__all__ = ["CHALLENGE_FILE", "challenge_arrays", "save_challenge_model"]

CHALLENGE_FILE = "fc_net_challenge.npz"


def challenge_arrays(model, mean_image: np.ndarray) -> dict[str, np.ndarray]:
    """The arrays of ``fc_net_challenge.npz`` for a trained ``FullyConnectedNet`` (see the module docstring).

    Args:
        model: a FullyConnectedNet with ``params`` (W1.., b1.., gamma1.., beta1..), ``num_layers``,
            ``normalization`` (None, "batchnorm" or "layernorm") and ``bn_params`` (one dict per hidden
            layer; with batchnorm each holds ``running_mean`` and ``running_var`` after training).
        mean_image: float array of shape (3, 32, 32), the mean image subtracted from the training data
            (``data["mean_image"]``).

    Returns:
        name -> numpy array (parameters cast to float32 to keep the file small).
    """
    mean_image = np.asarray(mean_image, dtype=np.float32)
    if mean_image.shape != (3, 32, 32):
        raise ValueError(f"mean_image has shape {mean_image.shape}, expected (3, 32, 32): pass data['mean_image']")
    layers = int(model.num_layers)
    normalization = model.normalization or "none"
    if normalization not in ("none", "batchnorm", "layernorm"):
        raise ValueError(f"normalization {normalization!r}: use None, 'batchnorm' or 'layernorm'")
    arrays: dict[str, np.ndarray] = {"normalization": np.array(normalization), "mean_image": mean_image}
    names = [f"{kind}{i}" for i in range(1, layers + 1) for kind in ("W", "b")]
    if normalization != "none":
        names += [f"{kind}{i}" for i in range(1, layers) for kind in ("gamma", "beta")]
    for name in names:
        if name not in model.params:
            raise KeyError(f"model.params has no {name!r}: is this a trained FullyConnectedNet?")
        arrays[name] = np.asarray(model.params[name], dtype=np.float32)
    if normalization == "batchnorm":
        eps = None
        for i, bn_param in enumerate(model.bn_params, start=1):
            if "running_mean" not in bn_param or "running_var" not in bn_param:
                raise ValueError(f"bn_params[{i - 1}] has no running averages: train the model (train mode) first")
            arrays[f"running_mean{i}"] = np.asarray(bn_param["running_mean"], dtype=np.float32)
            arrays[f"running_var{i}"] = np.asarray(bn_param["running_var"], dtype=np.float32)
            eps = bn_param.get("eps", 1e-5)
        arrays["eps"] = np.array(1e-5 if eps is None else eps, dtype=np.float64)
    return arrays


def save_challenge_model(model, mean_image: np.ndarray, folder: str | os.PathLike = ".") -> Path | None:
    """Write ``fc_net_challenge.npz`` (the trained ``model`` and ``mean_image``) into ``folder``.

    In quick mode (``MLPLAB_QUICK=1``: autograding, CI) an existing file is kept: a quick run never
    overwrites the model of your full run. Returns the path written, or None when the file was kept.
    """
    path = Path(folder) / CHALLENGE_FILE
    arrays = challenge_arrays(model, mean_image)
    if quick_mode() and path.exists():
        print(f"quick mode: kept the existing {path.name} (a quick run never replaces your full run's model)")
        return None
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)
    size = path.stat().st_size
    print(f"saved {path.name} ({size / 2**20:.1f} MiB, {model.num_layers} layers, normalization "
          f"{arrays['normalization'].item()}): submit it together with this notebook")
    return path
