"""Throughput of notebook 05's training code (the reference solution + labutils.cifar_gpu).

Runs the notebook's own functions (``build_mlp`` / ``build_cnn``, ``init_weights``,
``train_one_epoch``, ``evaluate``: the solution cells of
``source/mlp/05_mlp_vs_cnn.ipynb``) through the same engine the notebook uses, for a
given number of epochs, and prints per-epoch time, training images/s and peak memory.

    .venv/bin/python benchmarks/bench_gpu.py --model cnn --epochs 3 --synthetic 10000
    .venv/bin/python benchmarks/bench_gpu.py --model mlp --epochs 5 --data ../shared/data
    .venv/bin/python benchmarks/bench_gpu.py --model both --epochs 100 --data /path/to/data   # the full schedule

Options: ``--device`` (default: cuda if available), ``--batch-size``, ``--gray`` (grayscale
input through ``to_grayscale``), ``--compile`` (torch.compile, cuda), ``--no-amp``, ``--json``.
With ``--synthetic N`` the data are N generated CIFAR-shaped training images (plus N/5 test
images), otherwise CIFAR-10 from ``--data`` / ``$MLPLAB_DATA`` (whatever batches are present).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "source" / "mlp"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from labutils.cifar_gpu import (  # noqa: E402
    DeviceDataset,
    lab_config,
    load_cifar_splits,
    peak_memory_mb,
    run_experiment,
    synthetic_cifar,
)

from mlplab.notebook_code import grading_code, read_cells  # noqa: E402

NOTEBOOK = ROOT / "source" / "mlp" / "05_mlp_vs_cnn.ipynb"


def notebook_functions(path: Path = NOTEBOOK) -> dict:
    """Execute the notebook's solution cells and imports (not its experiments) and return the namespace."""
    namespace: dict = {"__name__": "notebook05"}
    for unit in grading_code(read_cells(path)):
        exec(compile(unit.source, f"<{path.name} {unit.label}>", "exec"), namespace)
    return namespace


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["mlp", "cnn", "both"], default="cnn")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--synthetic", type=int, default=0, metavar="N", help="N generated training images")
    parser.add_argument("--data", default=None, help="folder with cifar-10-batches-py/ (default $MLPLAB_DATA)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--gray", action="store_true", help="grayscale input (to_grayscale)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (cuda)")
    parser.add_argument("--no-amp", action="store_true", help="no bf16 autocast on cuda")
    parser.add_argument("--threads", type=int, default=None, help="cpu threads (default: free cores)")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    args = parser.parse_args(argv)

    if args.threads:
        os.environ["MLPLAB_THREADS"] = str(args.threads)
    os.environ.pop("MLPLAB_QUICK", None)
    os.environ.pop("MLPLAB_EPOCHS", None)
    cfg = lab_config(args.device)
    cfg.quick, cfg.max_train, cfg.max_test, cfg.mlp_epochs = False, None, None, None
    cfg.epochs, cfg.batch_size = args.epochs, args.batch_size
    cfg.amp = cfg.amp and not args.no_amp
    cfg.compile = bool(args.compile and torch.device(cfg.device).type == "cuda")
    device = torch.device(cfg.device)

    ns = notebook_functions()
    t0 = time.perf_counter()
    if args.synthetic:
        x_train, y_train, x_test, y_test = synthetic_cifar(args.synthetic, max(1, args.synthetic // 5), seed=0)
        n_val = max(1, args.synthetic // 10)
        splits = {"x_train": x_train[:-n_val], "y_train": y_train[:-n_val], "x_val": x_train[-n_val:],
                  "y_val": y_train[-n_val:], "x_test": x_test, "y_test": y_test, "source": "synthetic"}
    else:
        splits = load_cifar_splits(cfg, args.data)
    data = {"train": DeviceDataset(splits["x_train"], splits["y_train"], device)}
    for split in ("val", "test"):
        data[split] = DeviceDataset(splits[f"x_{split}"], splits[f"y_{split}"], device, stats_from=data["train"])
    if args.gray:
        gray = {"train": DeviceDataset(ns["to_grayscale"](data["train"].x), data["train"].y, device)}
        for split in ("val", "test"):
            gray[split] = DeviceDataset(ns["to_grayscale"](data[split].x), data[split].y, device,
                                        stats_from=gray["train"])
        data = gray
    load_s = time.perf_counter() - t0
    channels = data["train"].channels
    name = f"{device.type}"
    if device.type == "cuda":
        name += f" ({torch.cuda.get_device_name(device)})"
    else:
        name += f" ({torch.get_num_threads()} threads)"
    print(f"device {name}; data {splits['source']}: train {len(data['train'])}, val {len(data['val'])}, "
          f"test {len(data['test'])}, {channels} channel(s), loaded in {load_s:.1f}s")
    print(f"batch {cfg.batch_size}, epochs {cfg.epochs}, bf16 autocast {cfg.amp}, compile {cfg.compile}, "
          f"channels_last {cfg.channels_last}")

    models = ["mlp", "cnn"] if args.model == "both" else [args.model]
    report = {"device": name, "data": splits["source"], "n_train": len(data["train"]), "epochs": cfg.epochs,
              "batch_size": cfg.batch_size, "amp": cfg.amp, "compile": cfg.compile, "runs": {}}
    for model_name in models:
        builder = ns["build_mlp"] if model_name == "mlp" else ns["build_cnn"]
        hist = run_experiment(model_name.upper(), lambda b=builder: b(channels), ns["init_weights"],
                              ns["train_one_epoch"], ns["evaluate"], data, cfg, log=lambda s: None)
        times = hist["epoch_time"]
        for i, t in enumerate(times):
            print(f"{model_name.upper():>4} epoch {i + 1:3d}: {t:7.2f}s  train acc {hist['train_acc'][i]:.3f}  "
                  f"val acc {hist['val_acc'][i]:.3f}")
        steady = times[1:] or times
        print(f"{model_name.upper():>4}: first epoch {times[0]:.2f}s, steady {np.median(steady):.2f}s/epoch, "
              f"{hist['images_per_s']:.0f} train images/s, test acc {hist['test_acc']:.4f}, "
              f"peak memory {hist['peak_memory_mb']:.0f} MiB")
        report["runs"][model_name] = {
            "epoch_time_s": times, "first_epoch_s": times[0], "median_epoch_s": float(np.median(steady)),
            "images_per_s": hist["images_per_s"], "test_acc": hist["test_acc"],
            "peak_memory_mb": hist["peak_memory_mb"],
        }
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
    report["peak_memory_mb"] = peak_memory_mb(device)
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
