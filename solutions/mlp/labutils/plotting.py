"""Small matplotlib helpers shared by the notebooks.

All functions draw on a new figure and return it (the notebooks display it
with ``%matplotlib inline``); none of them saves files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np

if TYPE_CHECKING:  # annotations only: importing matplotlib.figure costs a fifth of a second
    from matplotlib.figure import Figure

HISTORY_KEYS = ("loss_history", "train_acc_history", "val_acc_history")


def _history(obj: Any, key: str) -> list[float]:
    """Read ``key`` from a Solver-like object or a dict; [] when absent."""
    value = obj.get(key, []) if isinstance(obj, Mapping) else getattr(obj, key, [])
    return [float(v) for v in (value if value is not None else [])]


def smooth(values: Sequence[float], window: int) -> np.ndarray:
    """Moving average of ``values`` over ``window`` points (shape: ``(len - window + 1,)``)."""
    values = np.asarray(values, dtype=np.float64)
    if window <= 1 or values.size < window:
        return values
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def plot_loss(
    losses: Sequence[float] | Mapping[str, Sequence[float]],
    title: str = "Training loss",
    smooth_window: int = 1,
    log_scale: bool = False,
) -> Figure:
    """Plot one loss curve (a list) or several (a dict name -> list), per iteration.

    Args:
        losses: losses per iteration, or a mapping from a label to such a list.
        title: figure title.
        smooth_window: draw a moving average over this many iterations as well
            (1 = raw curve only).
        log_scale: use a logarithmic y axis.
    """
    curves = dict(losses) if isinstance(losses, Mapping) else {"loss": losses}
    fig, ax = plt.subplots(figsize=(8, 4))
    for name, values in curves.items():
        values = np.asarray(values, dtype=np.float64)
        (line,) = ax.plot(values, ".", markersize=2, alpha=0.4 if smooth_window > 1 else 0.8, label=name)
        if smooth_window > 1 and values.size >= smooth_window:
            xs = np.arange(smooth_window - 1, values.size)
            ax.plot(xs, smooth(values, smooth_window), color=line.get_color(), linewidth=1.5)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    if log_scale:
        ax.set_yscale("log")
    ax.set_title(title)
    if len(curves) > 1:
        ax.legend()
    fig.tight_layout()
    return fig


def plot_histories(histories: Mapping[str, Any], title: str = "", smooth_window: int = 1) -> Figure:
    """Compare training runs: loss, training accuracy and validation accuracy.

    Args:
        histories: mapping from a label (e.g. ``"adam"``) to a Solver-like
            object with ``loss_history`` (per iteration), ``train_acc_history``
            and ``val_acc_history`` (per epoch) attributes, or to a dict with
            those keys.
        title: overall title.
        smooth_window: moving-average window for the loss curves.

    Returns:
        the figure, with three panels side by side.
    """
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for name, hist in histories.items():
        loss = _history(hist, "loss_history")
        if loss:
            if smooth_window > 1 and len(loss) >= smooth_window:
                axes[0].plot(np.arange(smooth_window - 1, len(loss)), smooth(loss, smooth_window), label=name)
            else:
                axes[0].plot(loss, label=name)
        for ax, key in ((axes[1], "train_acc_history"), (axes[2], "val_acc_history")):
            acc = _history(hist, key)
            if acc:
                ax.plot(np.arange(len(acc)), acc, "-o", markersize=3, label=name)
    axes[0].set(title="Training loss", xlabel="iteration", ylabel="loss")
    axes[1].set(title="Training accuracy", xlabel="epoch", ylabel="accuracy")
    axes[2].set(title="Validation accuracy", xlabel="epoch", ylabel="accuracy")
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_images(
    images: np.ndarray,
    labels: Sequence[Any] | None = None,
    ncols: int = 8,
    channels_first: bool | None = None,
    cmap: str = "gray",
    title: str = "",
) -> Figure:
    """Show a grid of images.

    Args:
        images: ``(K, H, W)`` grayscale, ``(K, H, W, C)`` or ``(K, C, H, W)``
            with C in {1, 3}; any float or integer range (each image is
            rescaled to [0, 1] for display).
        labels: optional caption per image.
        ncols: images per row.
        channels_first: layout of 4-d input; None guesses (``C`` in {1, 3} on axis 1).
        cmap: colour map for single-channel images.
        title: overall title.
    """
    images = np.asarray(images)
    if images.ndim == 2:
        images = images[None]
    if images.ndim == 4:
        if channels_first is None:
            channels_first = images.shape[1] in (1, 3) and images.shape[-1] not in (1, 3)
        if channels_first:
            images = images.transpose(0, 2, 3, 1)
        if images.shape[-1] == 1:
            images = images[..., 0]
    k = images.shape[0]
    ncols = max(1, min(ncols, k))
    nrows = max(1, int(np.ceil(k / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.6 * ncols, 1.7 * nrows), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i >= k:
            continue
        img = images[i].astype(np.float64)
        lo, hi = float(img.min()), float(img.max())
        img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
        ax.imshow(img, cmap=cmap if img.ndim == 2 else None, interpolation="nearest")
        if labels is not None:
            ax.set_title(str(labels[i]), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_histograms(
    arrays: Mapping[str, np.ndarray],
    bins: int = 50,
    title: str = "",
) -> Figure:
    """Histograms of several arrays side by side (e.g. activations before/after a normalisation layer)."""
    n = len(arrays)
    fig, axes = plt.subplots(1, max(1, n), figsize=(4 * max(1, n), 3), squeeze=False)
    for ax, (name, values) in zip(axes[0], arrays.items(), strict=False):
        values = np.asarray(values, dtype=np.float64).ravel()
        ax.hist(values, bins=bins)
        ax.set_title(f"{name}\nmean {values.mean():.2f}, std {values.std():.2f}", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_error_bars(
    series: Mapping[str, Mapping[float, Sequence[float]]],
    xlabel: str = "",
    ylabel: str = "",
    title: str = "",
    scale: float = 1.0,
    log_x: bool = False,
) -> Figure:
    """Mean ± one standard error over seeds, one line per series.

    Args:
        series: ``{series name: {x: values over seeds}}`` (e.g. ``{"adam": {1e-3: [0.52, 0.55, 0.53]}}``).
        xlabel, ylabel, title: axis labels and figure title (the y label gets "(mean ± SE)" appended).
        scale: multiplies the values (100 for percent).
        log_x: logarithmic x axis (learning rates, weight scales).
    """
    from labutils.stats import mean_interval

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, points in series.items():
        xs = sorted(points)
        intervals = [mean_interval(points[x]) for x in xs]
        means = np.array([iv.mean for iv in intervals]) * scale
        errs = np.array([0.0 if np.isnan(iv.se) else iv.se for iv in intervals]) * scale
        ax.errorbar(xs, means, yerr=errs, marker="o", capsize=3, label=f"{name} (n = {intervals[0].n})")
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{ylabel} (mean ± SE)" if ylabel else "mean ± SE")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_comparison(
    rows: Mapping[str, Sequence[float]],
    ylabel: str = "",
    title: str = "",
    scale: float = 100.0,
) -> Figure:
    """Bar chart of mean ± one standard error per setting (``rows``: ``{name: values over seeds}``).

    The individual values are drawn as dots on each bar, so a reader sees the spread, not just the bar.
    """
    from labutils.stats import mean_interval

    names = list(rows)
    intervals = [mean_interval(rows[name]) for name in names]
    fig, ax = plt.subplots(figsize=(max(5, 1.4 * len(names)), 4))
    xs = np.arange(len(names))
    means = np.array([iv.mean for iv in intervals]) * scale
    errs = np.array([0.0 if np.isnan(iv.se) else iv.se for iv in intervals]) * scale
    ax.bar(xs, means, yerr=errs, capsize=4, alpha=0.6)
    for x, name in zip(xs, names, strict=True):
        values = np.asarray(rows[name], dtype=np.float64) * scale
        ax.plot(np.full(values.shape, x), values, "k.", markersize=4)
    ax.set_xticks(xs)
    ax.set_xticklabels(names, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(f"{ylabel} (mean ± SE)" if ylabel else "mean ± SE")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
