"""labutils.stats: seeds, intervals, tables, grid tuning that brackets the optimum, and honest splits."""

from __future__ import annotations

import math
import sys

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from .helpers.paths import SOURCE  # noqa: E402

sys.path.insert(0, str(SOURCE))

from labutils.plotting import plot_comparison, plot_error_bars  # noqa: E402
from labutils.stats import (  # noqa: E402
    Interval,
    comparison_table,
    format_interval,
    mean_interval,
    over_seeds,
    seeds,
    split_val_test,
    t_quantile,
    tune,
)


def test_seeds_are_three_in_quick_mode_and_five_in_full_mode(monkeypatch):
    assert seeds(quick=True) == [0, 1, 2]
    assert seeds(quick=False) == [0, 1, 2, 3, 4]
    monkeypatch.setenv("MLPLAB_QUICK", "1")
    assert len(seeds()) == 3
    monkeypatch.delenv("MLPLAB_QUICK")
    assert len(seeds()) == 5


@pytest.mark.parametrize(("p", "df", "expected"), [
    (0.975, 1, 12.7062047), (0.975, 2, 4.3026527), (0.975, 4, 2.7764451), (0.975, 30, 2.0422725),
    (0.95, 10, 1.8124611), (0.995, 3, 5.8409093), (0.5, 7, 0.0), (0.025, 4, -2.7764451),
])
def test_t_quantile_matches_published_tables(p, df, expected):
    assert t_quantile(p, df) == pytest.approx(expected, abs=1e-6)


def test_mean_interval_is_the_mean_its_standard_error_and_a_student_t_interval():
    values = [0.50, 0.54, 0.52, 0.56, 0.53]
    iv = mean_interval(values)
    se = np.std(values, ddof=1) / math.sqrt(5)
    assert iv.n == 5 and iv.mean == pytest.approx(0.53) and iv.se == pytest.approx(se)
    assert iv.low == pytest.approx(0.53 - 2.7764451 * se) and iv.high == pytest.approx(0.53 + 2.7764451 * se)
    wider = mean_interval(values, confidence=0.99)
    assert wider.low < iv.low and wider.high > iv.high


def test_one_value_has_no_standard_error_and_the_text_says_so():
    iv = mean_interval([0.7])
    assert iv.n == 1 and iv.mean == 0.7 and math.isnan(iv.se) and math.isnan(iv.low) and math.isnan(iv.high)
    assert format_interval(iv, scale=100) == "70.0 (n = 1, no standard error)"
    with pytest.raises(ValueError, match="at least one"):
        mean_interval([])


def test_a_diverged_run_makes_the_mean_nan_rather_than_disappearing():
    assert math.isnan(mean_interval([0.5, float("nan"), 0.6]).mean)


def test_format_interval_shows_mean_plus_minus_standard_error_and_n():
    iv = Interval(mean=0.5432, se=0.0081, low=0.52, high=0.56, n=5)
    assert format_interval(iv, scale=100) == "54.3 ± 0.8 (n = 5)"
    assert format_interval(iv, scale=100, digits=2) == "54.32 ± 0.81 (n = 5)"
    assert str(iv) == "0.5 ± 0.0 (n = 5)"


def test_comparison_table_has_a_header_saying_what_plus_minus_is_and_one_row_per_setting():
    table = comparison_table({"adam": [0.50, 0.52, 0.54], "sgd": [0.40]})
    lines = table.splitlines()
    assert "mean ± standard error" in lines[0] and lines[0].endswith("| n |")
    assert lines[2] == "| adam | 52.0 ± 1.2 | 3 |"
    assert lines[3] == "| sgd | 40.0 no standard error | 1 |"


def test_over_seeds_calls_the_function_once_per_seed_in_order():
    calls = []
    assert over_seeds(lambda s: calls.append(s) or s * 10, [3, 1, 2]) == [30, 10, 20]
    assert calls == [3, 1, 2]


def peaked(optimum: float):
    """A validation score that peaks at ``optimum`` on a log axis, counting its calls."""
    calls = []

    def evaluate(value: float) -> float:
        calls.append(value)
        return -abs(math.log10(value) - math.log10(optimum))

    return evaluate, calls


def test_tune_keeps_an_interior_winner_without_widening():
    evaluate, calls = peaked(1e-3)
    tuned = tune(evaluate, [1e-4, 1e-3, 1e-2])
    assert tuned.best == pytest.approx(1e-3) and not tuned.widened and not tuned.on_edge
    assert sorted(calls) == sorted([1e-4, 1e-3, 1e-2]) and tuned.note == ""


@pytest.mark.parametrize(("optimum", "grid", "added"), [
    (1e-1, [1e-4, 1e-3, 1e-2], [1e-1, 1.0]),          # winner at the top edge: widen upwards twice
    (1e-6, [1e-4, 1e-3, 1e-2], [1e-5, 1e-6, 1e-7]),   # at the bottom edge: widen downwards three times
])
def test_tune_widens_past_the_edge_until_the_winner_is_inside(optimum, grid, added):
    evaluate, calls = peaked(optimum)
    tuned = tune(evaluate, grid, max_widen=3)
    assert tuned.best == pytest.approx(optimum) and tuned.widened and not tuned.on_edge
    assert calls[len(grid):] == pytest.approx(added)
    assert tuned.grid == sorted(tuned.grid) and len(tuned.grid) == len(grid) + len(added)


def test_tune_says_so_when_max_widen_is_hit_on_an_edge():
    evaluate, _ = peaked(1e-9)
    with pytest.warns(UserWarning, match="still on the edge"):
        tuned = tune(evaluate, [1e-3, 1e-2], max_widen=2)
    assert tuned.on_edge and tuned.best == pytest.approx(1e-5) and "optimum may lie further out" in tuned.note


def test_tune_on_a_linear_grid_widens_by_one_spacing():
    tuned = tune(lambda v: -abs(v - 1.0), [0.2, 0.4, 0.6], log=False)
    assert tuned.best == pytest.approx(1.0) and tuned.grid == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0, 1.2])


def test_tune_ranks_a_diverged_run_last_and_accepts_scores_per_seed():
    def evaluate(lr):
        if lr >= 1e-1:
            return [float("nan")] * 3  # diverged
        return [0.3 + lr, 0.31 + lr, 0.29 + lr]

    tuned = tune(evaluate, [1e-3, 1e-2, 1e-1])
    assert tuned.best == pytest.approx(1e-2) and not tuned.on_edge and not tuned.widened
    assert tuned.runs[1e-2] == pytest.approx([0.31, 0.32, 0.30]) and tuned.scores[1e-2] == pytest.approx(0.31)
    assert math.isnan(tuned.scores[1e-1])


def test_tune_breaks_ties_towards_the_smaller_value_and_rejects_bad_grids():
    tuned = tune(lambda v: 1.0 if v in (1e-2, 1e-1) else 0.0, [1e-3, 1e-2, 1e-1, 1.0])
    assert tuned.best == pytest.approx(1e-2)
    with pytest.raises(ValueError, match="at least two"):
        tune(lambda v: 0.0, [1e-3])
    with pytest.raises(ValueError, match="positive"):
        tune(lambda v: 0.0, [0.0, 1.0])


def test_split_val_test_is_disjoint_complete_and_fixed_by_its_seed():
    train, val, test = split_val_test(100, n_val=20, n_test=10, seed=4)
    assert (len(train), len(val), len(test)) == (70, 20, 10)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(100))
    assert all(a.dtype == np.int64 and np.all(np.diff(a) > 0) for a in (train, val, test))
    again = split_val_test(100, n_val=20, n_test=10, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again, strict=True))
    other = split_val_test(100, n_val=20, n_test=10, seed=5)
    assert not np.array_equal(test, other[2])
    with pytest.raises(ValueError):
        split_val_test(10, n_val=5, n_test=5, seed=0)


def test_plot_helpers_draw_error_bars_of_one_standard_error():
    fig = plot_error_bars({"adam": {1e-3: [0.5, 0.6], 1e-2: [0.4, 0.4]}}, xlabel="lr", ylabel="acc", log_x=True)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and "mean ± SE" in ax.get_ylabel()
    bar_fig = plot_comparison({"a": [0.5, 0.6, 0.7], "b": [0.4]})
    heights = [patch.get_height() for patch in bar_fig.axes[0].patches]
    assert heights == pytest.approx([60.0, 40.0])
