"""Notebook 05's reference figures (benchmarks/reference_figures.py, shipped as JSON) and the measurements
of section 7 that they and the notebook share (labutils.evidence)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
import numpy as np
import pytest
import torch
from torch import nn

from .helpers.paths import ROOT, SOURCE

sys.path.insert(0, str(SOURCE))

from labutils.cifar_gpu import DeviceDataset, LabConfig, run_experiment, synthetic_cifar  # noqa: E402
from labutils.evidence import (  # noqa: E402
    first_layer_activity,
    format_interval,
    interval,
    load_reference_figures,
    make_mlp,
    predict,
    print_reference_figures,
    recorded_predictions,
    template_match,
)

SHIPPED = SOURCE / "reference_figures_05.json"


@pytest.fixture(scope="module")
def smoke_file(tmp_path_factory):
    """The script end to end on the CPU at tiny size (generated data, 1 epoch, 2 seeds)."""
    out = tmp_path_factory.mktemp("ref") / "reference_figures_05.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLPLAB_QUICK": "1"}  # the script must ignore quick mode
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "reference_figures.py"), "--tiny", "--device",
                           "cpu", "--out", str(out)], capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc.stdout


@pytest.mark.slow  # trains (the script at tiny size, or one tiny MLP)
def test_the_script_writes_every_run_with_its_provenance_at_tiny_size(smoke_file):
    out, stdout = smoke_file
    data = json.loads(out.read_text(), parse_constant=lambda name: pytest.fail(f"{name} in the file: not JSON"))
    assert data["status"] == "smoke"  # generated data: never quotable
    prov = data["provenance"]
    for key in ("device", "device_name", "torch", "cuda", "python", "started", "finished", "wall_s", "seeds"):
        assert key in prov, key
    assert prov["seeds"] == [0, 1] and prov["dataset"]["full_cifar10"] is False
    assert prov["recipe"]["epochs"] == 1 and prov["recipe"]["bf16_autocast"] is False
    names = {r["name"] for r in data["runs"]}
    assert {"MLP RGB", "CNN RGB", "MLP gray", "CNN gray", "MLP perm", "CNN perm", "MLP 5 x 1024",
            "CNN RGB low lr"} <= names
    assert len(data["runs"]) == 2 * len(names)  # every run for both seeds
    for run in data["runs"]:
        assert run["wall_s"] > 0 and len(run["per_class"]) == 10 and len(run["history"]["val_acc"]) == 1
    cnn = next(r for r in data["runs"] if r["name"] == "CNN RGB")
    assert len(cnn["filters"]["active"]) == 64 and len(cnn["filters"]["norm"]) == 64
    summary = data["summary"]
    assert summary["permutation_drop"]["CNN"]["n"] == 2 and np.isfinite(summary["permutation_drop"]["CNN"]["se"])
    assert set(summary["colour_drop_per_class"]["MLP"]) == set(data["classes"])
    assert summary["sweep"]["MLP RGB"]["params"] == 3_943_434
    assert summary["templates"]["chance"] > 0
    assert "status smoke" in stdout


@pytest.mark.slow  # trains (the script at tiny size, or one tiny MLP)
def test_the_notebook_prints_the_figures_only_when_they_come_from_full_runs(smoke_file, capsys):
    out, _ = smoke_file
    smoke = load_reference_figures(out)
    print_reference_figures(smoke)
    shown = capsys.readouterr().out
    assert "SMOKE" in shown and "Do not quote" in shown and "conditionally" in shown
    complete = {**smoke, "status": "complete"}
    print_reference_figures(complete)
    shown = capsys.readouterr().out
    assert "reference figures (complete)" in shown and "MLP perm" in shown and "[" in shown
    assert "units active < 1 %" in shown and "class means" in shown


def test_the_shipped_file_says_pending_and_the_notebook_says_so(capsys):
    shipped = json.loads(SHIPPED.read_text())
    assert shipped["status"] == "pending" and "make reference-figures" in shipped["message"]
    reference = load_reference_figures(SHIPPED)
    print_reference_figures(reference)
    assert "PENDING" in capsys.readouterr().out
    assert load_reference_figures(SHIPPED.parent / "nowhere.json")["status"] in ("missing", "pending")
    nb = nbformat.read(SOURCE / "05_mlp_vs_cnn.ipynb", as_version=4)
    cells = {c.id: c for c in nb.cells}
    assert "print_reference_figures(reference)" in cells["reference-figures"].source
    assert "pending" in cells["reference-figures-intro"].source and "pending" in cells["50642038"].source
    assert (ROOT / "release" / "mlp" / "reference_figures_05.json").read_text() == SHIPPED.read_text()


def test_interval_is_a_t_interval_over_seeds_and_one_run_has_none():
    iv = interval([0.50, 0.52, 0.54])
    assert iv["mean"] == pytest.approx(0.52) and iv["se"] == pytest.approx(0.02 / np.sqrt(3))
    assert iv["high"] - iv["mean"] == pytest.approx(4.303 * iv["se"], rel=1e-3)
    assert format_interval(iv) == "52.0 [47.0, 57.0]"
    one = interval([0.5])
    assert np.isnan(one["low"]) and format_interval(one) == "50.0 (1 run)"


def test_activity_not_norm_says_whether_a_unit_is_dead_under_batch_norm():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU())
    with torch.no_grad():
        model[0].weight[0] *= 0.05  # a small filter, but BN rescales it: still active
        model[1].bias[1] = -50.0  # a unit pushed below zero everywhere: dead
    x = torch.randn(64, 3, 8, 8)
    model.train()
    with torch.no_grad():
        for _ in range(20):  # running statistics for eval mode
            model(x)
    stats = first_layer_activity(model, [(x, None)])
    assert stats["norm"][0] < 0.1 * np.median(stats["norm"]) and stats["active"][0] > 0.3
    assert stats["active"][1] == 0.0 and stats["beta"][1] == -50.0
    assert model.training  # restored


def test_template_match_finds_rows_that_are_class_means_and_not_random_ones():
    rng = np.random.default_rng(0)
    means = rng.normal(size=(10, 3 * 32 * 32))
    model = make_mlp([16])
    with torch.no_grad():
        model[1].weight.normal_(0, 0.01)
        distinct = means - means.mean(axis=0)
        model[1].weight[:10] = torch.as_tensor(distinct * 10, dtype=torch.float32)  # the largest rows
    match = template_match(model, means, count=10)
    assert sorted(match["best_class"].tolist()) == list(range(10))  # each row matches its own class
    assert np.all(match["best_corr"] > 0.99) and match["share_above_0.3"] == 1.0
    assert match["chance"] < 0.1
    fresh = make_mlp([16])
    assert template_match(fresh, means, count=10)["median_abs_best"] < 0.1


@pytest.mark.slow  # trains (the script at tiny size, or one tiny MLP)
def test_the_engine_records_the_test_predictions_of_the_students_evaluate():
    from mlplab.grading.reference import reference

    ref = reference("05_mlp_vs_cnn")
    x_tr, y_tr, x_te, y_te = synthetic_cifar(n_train=160, n_test=70, seed=1)
    dev = torch.device("cpu")
    data = {"train": DeviceDataset(x_tr[:128], y_tr[:128], dev)}
    data["val"] = DeviceDataset(x_tr[128:], y_tr[128:], dev, stats_from=data["train"])
    data["test"] = DeviceDataset(x_te, y_te, dev, stats_from=data["train"])
    cfg = LabConfig(device="cpu", epochs=1, batch_size=32, seed=3)
    h = run_experiment("mlp", lambda: ref.build_mlp(3), ref.init_weights, ref.train_one_epoch, ref.evaluate, data,
                       cfg, log=lambda _: None, max_train=64, seed=5)
    assert h["seed"] == 5 and h["train_size"] == 64
    labels, preds = predict(h["model"], data["test"].loader(512), dev)
    recorded = recorded_predictions(h, data["test"], dev)
    np.testing.assert_array_equal(recorded[0], labels)
    np.testing.assert_array_equal(recorded[1], preds)
    assert (preds == labels).mean() == pytest.approx(h["test_acc"])
