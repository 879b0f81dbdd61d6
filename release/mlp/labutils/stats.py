"""Statistical hygiene for the notebooks' experiments: seeds, intervals, bracketing grids, honest splits.

One training run is one draw from a noisy process (initial weights, minibatch order, dropout masks).
A difference between two settings means something only when it is larger than that noise, so every
comparison in the notebooks is run over several seeds and reported as a mean with its standard error:

* :func:`seeds` -- the seeds of an experiment (3 in quick mode, 5 in full mode).
* :func:`over_seeds` -- run ``fn(seed)`` for every seed (with a progress bar).
* :func:`mean_interval`, :class:`Interval`, :func:`format_interval` -- mean, standard error and a
  Student-t confidence interval of a handful of values.
* :func:`comparison_table` -- a markdown table of mean ± standard error and n per setting.
* :func:`tune` -- pick a hyperparameter on a grid, widening the grid while the winner sits on an edge
  (a winner on the edge of its grid says only "the best value may lie further out").
* :func:`split_val_test` -- disjoint train / validation / test indices: select on validation, report
  on a test split that no choice has seen.

Pure Python and NumPy (no SciPy): the Student-t quantile is computed here.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "seeds",
    "Interval",
    "mean_interval",
    "format_interval",
    "over_seeds",
    "Tuned",
    "tune",
    "split_val_test",
    "comparison_table",
    "t_quantile",
]

QUICK_SEEDS = 3
FULL_SEEDS = 5


def seeds(quick: bool | None = None) -> list[int]:
    """The seeds of one experiment: ``[0, 1, 2]`` in quick mode, ``[0, 1, 2, 3, 4]`` in full mode.

    ``quick=None`` reads the environment (quick when ``MLPLAB_QUICK=1``).
    """
    if quick is None:
        quick = os.environ.get("MLPLAB_QUICK", "") not in ("", "0")
    return list(range(QUICK_SEEDS if quick else FULL_SEEDS))


# ----------------------------------------------------------------------------------------------
# Student-t quantile (regularised incomplete beta by a continued fraction, then bisection)


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz's method)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return result


def _regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b) for 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b


def _t_cdf(t: float, df: float) -> float:
    tail = 0.5 * _regularized_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t distribution with ``df`` degrees of freedom (0 < p < 1).

    ``t_quantile(0.975, 4)`` is 2.776..., the factor of a 95 % interval from 5 values.
    """
    if not 0.0 < p < 1.0 or df <= 0:
        raise ValueError(f"t_quantile needs 0 < p < 1 and df > 0, got p={p}, df={df}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while _t_cdf(high, df) < p:
        high *= 2.0
    for _ in range(200):
        mid = 0.5 * (low + high)
        if _t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-12 * max(1.0, high):
            break
    return 0.5 * (low + high)


# ----------------------------------------------------------------------------------------------
# Intervals


@dataclass(frozen=True)
class Interval:
    """Summary of ``n`` values (one per seed): their mean, its standard error, a confidence interval.

    ``se`` is the standard error of the mean (sample standard deviation / sqrt(n)); ``low`` and ``high``
    bound the Student-t confidence interval of the mean. With ``n = 1`` there is no spread to measure:
    ``se``, ``low`` and ``high`` are NaN (and :func:`format_interval` says so).
    """

    mean: float
    se: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        return format_interval(self)


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Mean, standard error and Student-t ``confidence`` interval of ``values`` (a 1-D sequence of floats).

    NaN values (a diverged run) are kept: they make the mean NaN, so a divergence is never hidden.
    ``n = 1`` gives ``se = low = high = nan``. An empty sequence raises ``ValueError``.
    """
    x = np.asarray(list(values), dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("mean_interval needs at least one value")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    mean = float(x.mean())
    n = int(x.size)
    if n == 1:
        return Interval(mean, math.nan, math.nan, math.nan, 1)
    se = float(x.std(ddof=1) / math.sqrt(n))
    half = t_quantile(0.5 + confidence / 2.0, n - 1) * se
    return Interval(mean, se, mean - half, mean + half, n)


def format_interval(iv: Interval, scale: float = 1.0, digits: int = 1) -> str:
    """``"54.3 ± 0.8 (n = 5)"``: mean ± one standard error, times ``scale`` (100 for percent).

    With ``n = 1``: ``"54.3 (n = 1, no standard error)"``.
    """
    mean = f"{iv.mean * scale:.{digits}f}"
    if iv.n < 2 or math.isnan(iv.se):
        return f"{mean} (n = {iv.n}, no standard error)"
    return f"{mean} ± {iv.se * scale:.{digits}f} (n = {iv.n})"


def over_seeds(fn: Callable[[int], object], seeds: Sequence[int], desc: str | None = None) -> list:
    """``[fn(seed) for seed in seeds]``, with a progress bar (tqdm, on stderr) over the seeds."""
    from tqdm import tqdm

    return [fn(seed) for seed in tqdm(list(seeds), desc=desc or "seeds", leave=False)]


def comparison_table(
    rows: Mapping[str, Sequence[float]],
    scale: float = 100,
    digits: int = 1,
    label: str = "setting",
    value: str = "accuracy (%)",
) -> str:
    """A markdown table with one row per setting: mean ± standard error over its values, and n.

    ``rows`` maps a setting's name to its values (one per seed, e.g. accuracies in [0, 1]); ``scale``
    multiplies them (100 turns fractions into percent). The header says what ``±`` is. Also readable as
    plain text when printed.
    """
    lines = [f"| {label} | {value}: mean ± standard error | n |", "|---|---|---|"]
    for name, values in rows.items():
        iv = mean_interval(values)
        se = "no standard error" if iv.n < 2 else f"± {iv.se * scale:.{digits}f}"
        lines.append(f"| {name} | {iv.mean * scale:.{digits}f} {se} | {iv.n} |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# Tuning on a grid that brackets the optimum


@dataclass
class Tuned:
    """Result of :func:`tune`.

    Attributes:
        best: the grid value with the highest score.
        grid: every value evaluated, sorted (the initial grid plus the values added by widening).
        scores: ``{value: score}`` (a NaN score counts as the worst).
        widened: True when the grid was widened at least once.
        runs: ``{value: per-seed scores}`` when ``evaluate`` returned a sequence, else empty.
        note: empty, or why the result is still on an edge of its grid.
    """

    best: float
    grid: list[float]
    scores: dict[float, float]
    widened: bool
    runs: dict[float, list[float]] = field(default_factory=dict)
    note: str = ""

    @property
    def on_edge(self) -> bool:
        """True when ``best`` is the smallest or the largest value evaluated."""
        return self.best in (min(self.grid), max(self.grid))


def _rank(score: float) -> float:
    return -math.inf if score is None or math.isnan(score) else score


def tune(
    evaluate: Callable[[float], float | Sequence[float]],
    grid: Sequence[float],
    *,
    log: bool = True,
    factor: float = 10.0,
    max_widen: int = 3,
) -> Tuned:
    """The value of ``grid`` with the best ``evaluate(value)`` (a validation score: higher is better).

    ``evaluate`` may return one score or a sequence of scores (one per seed); a sequence is ranked by
    its mean and kept in ``Tuned.runs``. A NaN score (a diverged run) ranks last. Ties go to the
    smaller value.

    When the winner is the smallest (largest) value evaluated, the best value may lie further out, so
    the grid is widened past that edge -- by one value ``factor`` times smaller (larger) when ``log``,
    else one grid spacing further -- and the new value is evaluated; this repeats up to ``max_widen``
    times. If the winner is still on an edge after that, ``Tuned.note`` says so and a ``UserWarning``
    is raised; otherwise ``Tuned.on_edge`` is False.
    """
    values = sorted({float(v) for v in grid})
    if len(values) < 2:
        raise ValueError("tune needs a grid of at least two values")
    if log and (values[0] <= 0 or factor <= 1):
        raise ValueError("a log grid needs positive values and factor > 1")
    scores: dict[float, float] = {}
    runs: dict[float, list[float]] = {}

    def score(value: float) -> None:
        result = evaluate(value)
        if isinstance(result, (Sequence, np.ndarray)) and not isinstance(result, str):
            per_seed = [float(r) for r in result]
            runs[value] = per_seed
            scores[value] = float(np.mean(per_seed)) if per_seed else math.nan
        else:
            scores[value] = float(result)

    for value in values:
        score(value)

    def winner() -> float:
        return min(scores, key=lambda v: (-_rank(scores[v]), v))

    widenings = 0
    while True:
        best = winner()
        ordered = sorted(scores)
        at_low, at_high = best == ordered[0], best == ordered[-1]
        if not (at_low or at_high) or widenings >= max_widen:
            break
        if at_low:
            new = ordered[0] / factor if log else ordered[0] - (ordered[1] - ordered[0])
        else:
            new = ordered[-1] * factor if log else ordered[-1] + (ordered[-1] - ordered[-2])
        score(float(new))
        widenings += 1
    tuned = Tuned(best=best, grid=sorted(scores), scores=dict(sorted(scores.items())), widened=widenings > 0,
                  runs=dict(sorted(runs.items())))
    if tuned.on_edge:
        tuned.note = (f"the best value {best:g} is still on the edge of the grid {tuned.grid} after "
                      f"{max_widen} widenings: the optimum may lie further out")
        warnings.warn(tuned.note, UserWarning, stacklevel=2)
    return tuned


# ----------------------------------------------------------------------------------------------
# Splits


def split_val_test(n: int, n_val: int, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Disjoint random ``(train_idx, val_idx, test_idx)`` covering ``range(n)`` (sorted int64 arrays).

    Select hyperparameters on ``val_idx`` only; report the chosen setting once on ``test_idx``, which no
    choice has seen. The same ``seed`` gives the same split.
    """
    if n_val < 1 or n_test < 1 or n_val + n_test >= n:
        raise ValueError(f"need n_val >= 1, n_test >= 1 and n_val + n_test < n, got {n_val}, {n_test}, {n}")
    order = np.random.default_rng(seed).permutation(n)
    test_idx = np.sort(order[:n_test])
    val_idx = np.sort(order[n_test:n_test + n_val])
    train_idx = np.sort(order[n_test + n_val:])
    return train_idx.astype(np.int64), val_idx.astype(np.int64), test_idx.astype(np.int64)
