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

from labutils.stats import mean_interval


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


def recorded_predictions(history: dict, dataset, device) -> tuple[np.ndarray, np.ndarray]:
    """Labels and predictions on ``dataset`` (the run's test set) of a run's model: the predictions the
    engine recorded during the test pass when there are any, else a new pass with :func:`predict`."""
    preds = history.get("test_pred")
    if preds is not None and len(preds) == len(dataset):
        return dataset.y.cpu().numpy(), np.asarray(preds)
    return predict(history["model"], dataset.loader(512), device)


# --------------------------------------------------------------------------- several seeds, intervals
def interval(values: Sequence[float], confidence: float = 0.95) -> dict:
    """Mean of ``values`` (one per seed) with a Student-t interval, as a plain dict (for JSON):
    ``{"mean", "low", "high", "se", "n"}``, computed by :func:`labutils.stats.mean_interval`.

    With one value the interval is unknown (``low = high = nan``): one run says nothing about the
    spread between runs.
    """
    values = [float(v) for v in values]
    if not values:  # nothing to summarise yet (a comparison whose runs have not happened)
        return {"mean": float("nan"), "low": float("nan"), "high": float("nan"), "se": float("nan"), "n": 0}
    iv = mean_interval(values, confidence)
    return {"mean": float(iv.mean), "low": float(iv.low), "high": float(iv.high), "se": float(iv.se), "n": int(iv.n)}


def format_interval(iv: dict, scale: float = 100.0, digits: int = 1) -> str:
    """``"54.2 [52.9, 55.5]"`` (mean and 95 % interval, times ``scale``); one run: ``"54.2 (1 run)"``.

    The bracket form (not ``labutils.stats.format_interval``'s mean ± standard error) because the
    questions of notebook 05 ask whether an interval excludes 0 or overlaps another one."""
    if iv["n"] == 0 or iv["mean"] is None:
        return "-"
    if iv["n"] < 2 or iv["low"] is None:
        return f"{iv['mean'] * scale:.{digits}f} ({iv['n']} run)"
    return f"{iv['mean'] * scale:.{digits}f} [{iv['low'] * scale:.{digits}f}, {iv['high'] * scale:.{digits}f}]"


def run_seeds(name: str, seeds: Sequence[int], run, log=print) -> list[dict]:
    """``[run(seed) for seed in seeds]`` with one progress line per run; ``run`` returns a history dict
    (as :func:`labutils.cifar_gpu.run_experiment` does)."""
    histories = []
    for seed in seeds:
        h = run(seed)
        histories.append(h)
        log(f"{name:>16} seed {seed}: test acc {h['test_acc']:.3f}  ({h['total_time']:.1f} s)")
    return histories


# --------------------------------------------------------------------------- measurements of trained models
@torch.no_grad()
def first_layer_activity(model: nn.Module, batches: Iterable) -> dict:
    """What each unit of the first convolution does on ``batches`` (in eval mode).

    Returns float64 arrays of shape (out_channels,): ``norm`` (the filter's weight norm), ``active``
    (fraction of positions where the unit is positive after the first BatchNorm2d and the ReLU),
    ``gamma`` and ``beta`` (that BatchNorm's parameters). Under batch norm a filter's *scale* does not
    change the unit's output, so a small norm alone does not make a unit dead: ``active`` does.
    """
    conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    bn = next(m for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    captured: dict = {}
    hook = bn.register_forward_hook(lambda module, inputs, output: captured.update(out=output))
    was_training = model.training
    model.eval()
    positive = torch.zeros(conv.out_channels, dtype=torch.float64)
    total = 0
    try:
        for x, _ in batches:
            model(x)
            out = captured["out"].detach().float()
            positive += (out > 0).sum(dim=(0, 2, 3)).double().cpu()
            total += out.shape[0] * out.shape[2] * out.shape[3]
    finally:
        hook.remove()
        model.train(was_training)
    return {
        "norm": conv.weight.detach().double().flatten(1).norm(dim=1).cpu().numpy(),
        "active": (positive / max(total, 1)).numpy(),
        "gamma": bn.weight.detach().double().cpu().numpy(),
        "beta": bn.bias.detach().double().cpu().numpy(),
    }


def class_means(images: torch.Tensor, labels: torch.Tensor, num_classes: int = 10) -> np.ndarray:
    """Mean image of each class, float64 ``(num_classes, C*H*W)``, from float images ``(N, C, H, W)``."""
    x = images.detach().double().flatten(1).cpu().numpy()
    y = labels.detach().cpu().numpy()
    return np.stack([x[y == c].mean(axis=0) if np.any(y == c) else np.zeros(x.shape[1]) for c in range(num_classes)])


def template_match(model: nn.Module, means: np.ndarray, count: int = 32, seed: int = 0) -> dict:
    """How much the MLP's first-layer weight rows look like class-mean images.

    For each of the ``count`` rows with the largest norms: the Pearson correlation with each class
    mean (``means``: float ``(K, D)``, in the model's normalised input space) minus the mean of the
    class means (what sets the class apart, not what all images share), and its best match.
    ``chance`` is the same statistic (median over rows of the largest |correlation| with a class mean)
    for random Gaussian rows: what "no resemblance" looks like in D dimensions.

    Returns ``{"best_class": int (count,), "best_corr": float (count,) (signed, largest |corr|),
    "median_abs_best": float, "chance": float, "share_above_0.3": float}``.
    """
    linear = next(m for m in model.modules() if isinstance(m, nn.Linear))
    w = linear.weight.detach().double().cpu().numpy()
    rows = w[np.argsort(-np.linalg.norm(w, axis=1))[:count]]

    distinct = np.asarray(means, dtype=np.float64) - np.asarray(means, dtype=np.float64).mean(axis=0)

    def corr(a: np.ndarray) -> np.ndarray:
        a = a - a.mean(axis=1, keepdims=True)
        m = distinct - distinct.mean(axis=1, keepdims=True)
        a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
        m = m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
        return a @ m.T  # (rows, K)

    c = corr(rows)
    best = np.argmax(np.abs(c), axis=1)
    best_corr = c[np.arange(len(c)), best]
    random_rows = np.random.default_rng(seed).standard_normal((max(count, 256), w.shape[1]))
    chance = float(np.median(np.abs(corr(random_rows)).max(axis=1)))
    return {
        "best_class": best.astype(np.int64),
        "best_corr": best_corr,
        "median_abs_best": float(np.median(np.abs(best_corr))),
        "chance": chance,
        "share_above_0.3": float(np.mean(np.abs(best_corr) > 0.3)),
    }


# --------------------------------------------------------------------------- reference figures (shipped as data)
REFERENCE_FILE = "reference_figures_05.json"


def load_reference_figures(path=None) -> dict:
    """The reference full-run figures shipped with the notebook (``reference_figures_05.json`` next to
    it, written by the course's ``benchmarks/reference_figures.py`` on a GPU).

    Always returns a dict with ``status``: ``"complete"`` (full CIFAR-10, every run done: quotable),
    ``"partial"`` (full CIFAR-10, fewer seeds than planned), ``"smoke"`` (a pipeline check on too
    little data: not quotable), ``"pending"`` (no device has produced them yet), or ``"missing"``
    (no file found).
    """
    import json  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    candidates = [Path(path)] if path else [Path.cwd() / REFERENCE_FILE, Path(__file__).resolve().parent.parent
                                            / REFERENCE_FILE]
    for candidate in candidates:
        if candidate.is_file():
            data = json.loads(candidate.read_text())
            data.setdefault("status", "pending")
            return data
    return {"status": "missing", "message": f"{REFERENCE_FILE} not found next to the notebook"}


def quotable(reference: dict) -> bool:
    """True when the reference figures come from full CIFAR-10 runs (status complete or partial)."""
    return reference.get("status") in ("complete", "partial")


def print_reference_figures(reference: dict, log=print) -> None:
    """A plain-text summary of the reference figures, or a plain statement that they are pending."""
    status = reference.get("status")
    if not quotable(reference):
        if status == "smoke":
            log("REFERENCE FIGURES: SMOKE. No full run on a GPU has produced them yet (the file holds a pipeline"
                " check on too little data).")
        elif status == "missing":
            log(f"REFERENCE FIGURES: MISSING. {REFERENCE_FILE} is not next to the notebook.")
        else:
            log("REFERENCE FIGURES: PENDING. No full run on a GPU has produced them yet.")
        log("Do not quote numbers for them. Answer from your own figures (a full run if you have one,"
            " else this quick run),\nwith their intervals, and phrase every conclusion conditionally"
            " ('if the interval of ... excludes 0, then ...').")
        return
    prov, summary = reference["provenance"], reference["summary"]
    log(f"reference figures ({status}): {prov['device_name']}, torch {prov['torch']} (CUDA {prov['cuda']}), "
        f"{prov['recipe']['epochs']} epochs, seeds {prov['seeds']}, bf16 {prov['recipe']['bf16_autocast']}, "
        f"{prov['dataset']['train']:,} training images, {prov['wall_s']:.0f} s in all, {prov['finished']}")
    log("test accuracy, mean [95 % interval] over seeds (%):")
    for name, iv in summary["test_acc"].items():
        log(f"  {name:18s} {format_interval(iv)}")
    for title, key in (("pixel permutation: natural - permuted", "permutation_drop"),
                       ("colour: RGB - gray", "colour_drop")):
        log(f"{title} (points): " + "; ".join(f"{net} {format_interval(iv)}" for net, iv in summary[key].items()))
    for net, per_class in summary["colour_drop_per_class"].items():
        log(f"{net} per-class drop without colour (points): "
            + ", ".join(f"{c} {format_interval(iv)}" for c, iv in per_class.items()))
    for name, row in summary["sweep"].items():
        log(f"  sweep {name:18s} {row['params']:>11,d} params  train {format_interval(row['train_acc'])}  "
            f"test {format_interval(row['test_acc'])}")
    for name, row in summary["dead_filters"].items():
        log(f"  {name} (lr {row['lr']}): units active < 1 %: {format_interval(row['inactive_below_1pct'], 1)}; "
            f"norm < 10 % of median: {format_interval(row['small_norm_below_10pct_median'], 1)}")
    t = summary.get("templates")
    if t:
        log("MLP first-layer rows vs class means: median |best corr| "
            f"{format_interval(t['median_abs_best_corr'], 1, 3)}"
            f" (at initialisation {format_interval(t['at_init'], 1, 3)}, chance {t['chance']:.3f})")
