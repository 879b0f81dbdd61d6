"""Notebook 05's reference figures: every experiment of sections 5-7 over several seeds, as data.

Runs the notebook's own solution code (``build_mlp``, ``build_cnn``, ``init_weights``,
``train_one_epoch``, ``evaluate``, ``to_grayscale``) through the notebook's engine
(``labutils.cifar_gpu``) and writes one JSON file that ships to students
(``source/mlp/reference_figures_05.json``): the figures a student without a GPU may quote.

For every seed (seed-major, so a run cut short keeps whole seeds): MLP and CNN on RGB and on
grayscale (histories, test accuracy, per-class accuracy), both networks on pixel-permuted images,
the depth/width sweep (the same schedule as the main runs; the "3 layers" entry *is* the main MLP
run), the CNN's first-layer filters (norm, activity after BN + ReLU, gamma, beta), the same CNN
at a five times smaller learning rate (does the rate make "dead" units?), and how much the MLP's
first-layer rows correlate with class-mean images. A summary adds 95 % t-intervals over the seeds.
The file is rewritten after every run (``status: running``), so a timeout leaves what was done.

``status`` in the file: ``pending`` (never run), ``smoke`` (not full CIFAR-10 or a ``--tiny`` run:
the pipeline works, the numbers are not reference figures), ``partial`` (full data, cut short),
``complete`` (full CIFAR-10, every run done).

    # on one GPU with the full CIFAR-10 (all five data_batch_* files) in $MLPLAB_DATA:
    timeout 580 .venv/bin/python benchmarks/reference_figures.py            # or: make reference-figures
    # end to end on a CPU at tiny size (about a minute on 2 idle cores; written to /tmp, status "smoke"):
    .venv/bin/python benchmarks/reference_figures.py --tiny --out /tmp/reference_figures_05.json

Size of the default (15 epochs, 3 seeds; 12 CNN and 18 MLP runs on 45,000 images): estimated
4-6 minutes on one H100/H200 (docs/gpu-notebook.md gives the arithmetic); not measured yet.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "source" / "mlp"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from labutils.cifar_gpu import (  # noqa: E402
    CLASSES,
    DeviceDataset,
    lab_config,
    load_cifar_splits,
    run_experiment,
    synthetic_cifar,
)
from labutils.evidence import (  # noqa: E402
    class_means,
    confusion_matrix,
    first_layer_activity,
    interval,
    make_mlp,
    per_class_accuracy,
    permuted,
    pixel_permutation,
    recorded_predictions,
    template_match,
)

from mlplab.notebooks import grading_code, read_cells  # noqa: E402

NOTEBOOK = ROOT / "source" / "mlp" / "05_mlp_vs_cnn.ipynb"
DEFAULT_OUT = ROOT / "source" / "mlp" / "reference_figures_05.json"
FULL_TRAIN = 45_000
SWEEP = {"1 x 512": [512], "2 x 2048": [2048, 2048], "5 x 1024": [1024] * 5}  # plus the main MLP
LOW_LR = 0.02


def notebook_functions(path: Path = NOTEBOOK) -> dict:
    """The notebook's solution cells and imports, executed (not its experiments)."""
    namespace: dict = {"__name__": "notebook05"}
    for unit in grading_code(read_cells(path), path.parent / "labutils"):
        exec(compile(unit.source, f"<{path.name} {unit.label}>", "exec"), namespace)
    return namespace


def provenance(device: torch.device) -> dict:
    """Device, versions and host of this run."""
    out = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
        or platform.machine(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "python": platform.python_version(),
        "host": platform.platform(),
        "cpu_threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        out["capability"] = list(torch.cuda.get_device_capability(device))
    return out


def _lists(h: dict) -> dict:
    keys = ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "epoch_time")
    return {k: [round(float(v), 6) for v in h[k]] for k in keys}


def _iv(values) -> dict:
    """interval() with NaN written as null (the file is strict JSON)."""
    return {k: (None if v != v else round(v, 6)) if isinstance(v, float) else v for k, v in interval(values).items()}


def summarise(runs: list[dict]) -> dict:
    """Intervals over the seeds of every comparison the notebook asks about."""
    by: dict[str, dict[int, dict]] = {}
    for r in runs:
        by.setdefault(r["name"], {})[r["seed"]] = r

    def paired(a: str, b: str, field: str = "test_acc") -> list[float]:
        common = sorted(set(by.get(a, {})) & set(by.get(b, {})))
        return [by[a][s][field] - by[b][s][field] for s in common]

    out: dict = {"test_acc": {name: _iv([r["test_acc"] for r in per.values()]) for name, per in by.items()}}
    out["permutation_drop"] = {net: _iv(paired(f"{net} RGB", f"{net} perm")) for net in ("MLP", "CNN")}
    out["colour_drop"] = {net: _iv(paired(f"{net} RGB", f"{net} gray")) for net in ("MLP", "CNN")}
    per_class: dict = {}
    for net in ("MLP", "CNN"):
        common = sorted(set(by.get(f"{net} RGB", {})) & set(by.get(f"{net} gray", {})))
        if not common:
            per_class[net] = {}
            continue
        drops = np.array([np.subtract(by[f"{net} RGB"][s]["per_class"], by[f"{net} gray"][s]["per_class"])
                          for s in common])
        per_class[net] = {CLASSES[k]: _iv(drops[:, k]) for k in range(drops.shape[1])}
    out["colour_drop_per_class"] = per_class
    sweep_names = ["MLP RGB"] + [f"MLP {label}" for label in SWEEP]
    out["sweep"] = {
        name: {"params": next(iter(by[name].values()))["params"],
               "test_acc": _iv([r["test_acc"] for r in by[name].values()]),
               "train_acc": _iv([r["history"]["train_acc"][-1] for r in by[name].values()])}
        for name in sweep_names if name in by
    }
    dead: dict = {}
    for name in ("CNN RGB", "CNN RGB low lr"):
        if name in by:
            rs = list(by[name].values())
            dead[name] = {
                "lr": rs[0]["lr"],
                "inactive_below_1pct": _iv([float(np.sum(np.array(r["filters"]["active"]) < 0.01)) for r in rs]),
                "small_norm_below_10pct_median": _iv([float(np.sum(np.array(r["filters"]["norm"])
                                                               < 0.1 * np.median(r["filters"]["norm"]))) for r in rs]),
                "test_acc": _iv([r["test_acc"] for r in rs]),
            }
    out["dead_filters"] = dead
    if "MLP RGB" in by:
        rs = [r for r in by["MLP RGB"].values() if "templates" in r]
        out["templates"] = {
            "median_abs_best_corr": _iv([r["templates"]["median_abs_best"] for r in rs]),
            "chance": float(np.mean([r["templates"]["chance"] for r in rs])) if rs else None,
            "at_init": _iv([r["templates"]["at_init_median_abs_best"] for r in rs]),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--data", help="folder with cifar-10-batches-py/ (default: $MLPLAB_DATA)")
    parser.add_argument("--device", help="default: cuda if available")
    parser.add_argument("--epochs", type=int, default=15, help="epochs of every run (schedule scaled; default 15)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--budget-s", type=float, default=540.0,
                        help="start no new seed after this many seconds (default 540)")
    parser.add_argument("--tiny", action="store_true",
                        help="CPU smoke size: 128 training images, 1 epoch, 2 seeds, generated data unless --data")
    args = parser.parse_args(argv)
    started_wall, t_start = dt.datetime.now(dt.UTC), time.perf_counter()
    if args.data:
        os.environ["MLPLAB_DATA"] = args.data
    os.environ.pop("MLPLAB_QUICK", None)
    os.environ["MLPLAB_FULL"] = "1"  # the schedule is set below; only the device choice and fast paths matter
    cfg = lab_config(args.device)
    device = torch.device(cfg.device)
    cfg.quick, cfg.max_test, cfg.max_val, cfg.mlp_epochs, cfg.cnn_max_train = False, None, None, None, None
    cfg.epochs = args.epochs
    seeds = list(range(args.seeds))
    if args.tiny:
        cfg.epochs, cfg.max_train, cfg.max_test, cfg.batch_size = 1, 128, 100, 64
        seeds = seeds[:2]
        if not args.data:
            x_tr, y_tr, x_te, y_te = synthetic_cifar(n_train=300, n_test=100)
            n_val = 40
            splits = {"x_train": x_tr[:128], "y_train": y_tr[:128], "x_val": x_tr[-n_val:], "y_val": y_tr[-n_val:],
                      "x_test": x_te, "y_test": y_te, "source": "synthetic"}
    if not args.tiny or args.data:
        splits = load_cifar_splits(cfg)
    full = splits["source"] == "CIFAR-10" and len(splits["x_train"]) >= FULL_TRAIN and not args.tiny
    nb = notebook_functions()
    rgb = {"train": DeviceDataset(splits["x_train"], splits["y_train"], device)}
    for split in ("val", "test"):
        rgb[split] = DeviceDataset(splits[f"x_{split}"], splits[f"y_{split}"], device, stats_from=rgb["train"])
    gray = {"train": DeviceDataset(nb["to_grayscale"](rgb["train"].x), rgb["train"].y, device)}
    for split in ("val", "test"):
        gray[split] = DeviceDataset(nb["to_grayscale"](rgb[split].x), rgb[split].y, device, stats_from=gray["train"])
    perm = pixel_permutation(seed=0)
    means = class_means(rgb["train"].normalize(rgb["train"].x[:10_000]).float(), rgb["train"].y[:10_000])
    build_mlp, build_cnn = nb["build_mlp"], nb["build_cnn"]
    plan = [  # name, builder, data, learning rate
        ("MLP RGB", lambda: build_mlp(3), rgb, cfg.lr),
        ("CNN RGB", lambda: build_cnn(3), rgb, cfg.lr),
        ("MLP gray", lambda: build_mlp(1), gray, cfg.lr),
        ("CNN gray", lambda: build_cnn(1), gray, cfg.lr),
        ("MLP perm", lambda: permuted(build_mlp(3), perm), rgb, cfg.lr),
        ("CNN perm", lambda: permuted(build_cnn(3), perm), rgb, cfg.lr),
        *[(f"MLP {label}", lambda h=hidden: make_mlp(h), rgb, cfg.lr) for label, hidden in SWEEP.items()],
        ("CNN RGB low lr", lambda: build_cnn(3), rgb, LOW_LR),
    ]
    record: dict = {
        "schema": 1,
        "status": "running",
        "notebook": "05_mlp_vs_cnn",
        "command": "python benchmarks/reference_figures.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "provenance": {
            **provenance(device),
            "started": started_wall.isoformat(timespec="seconds"),
            "dataset": {"source": splits["source"], "train": len(rgb["train"]), "val": len(rgb["val"]),
                        "test": len(rgb["test"]), "full_cifar10": full},
            "recipe": {"epochs": cfg.epochs, "batch_size": cfg.batch_size, "lr": cfg.lr, "low_lr": LOW_LR,
                       "momentum": cfg.momentum, "weight_decay": cfg.weight_decay,
                       "milestones": list(cfg.milestones), "gamma": cfg.gamma, "augmentation": "crop pad 4 + flip",
                       "bf16_autocast": cfg.amp, "channels_last": cfg.channels_last, "compile": cfg.compile},
            "seeds": seeds,
            "notes": list(cfg.notes),
        },
        "classes": list(CLASSES),
        "runs": [],
    }

    def write(status: str) -> None:
        record["status"] = status
        record["provenance"]["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        record["provenance"]["wall_s"] = round(time.perf_counter() - t_start, 1)
        record["summary"] = summarise(record["runs"])
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=1, allow_nan=False) + "\n")
        tmp.replace(args.out)

    quiet = lambda _: None  # noqa: E731
    cut_short = False
    for seed in seeds:
        if time.perf_counter() - t_start > args.budget_s:
            cut_short = True
            print(f"budget of {args.budget_s:.0f} s spent: seeds from {seed} on not run", flush=True)
            break
        for name, build, data, lr in plan:
            t0 = time.perf_counter()
            run_cfg = cfg if lr == cfg.lr else dataclasses.replace(cfg, lr=lr)
            h = run_experiment(name, build, nb["init_weights"], nb["train_one_epoch"], nb["evaluate"], data, run_cfg,
                               log=quiet, seed=seed)
            model = h["model"]
            labels, preds = recorded_predictions(h, data["test"], device)
            entry = {
                "name": name, "seed": seed, "lr": lr, "epochs": cfg.epochs,
                "params": int(sum(p.numel() for p in model.parameters())),
                "test_acc": round(h["test_acc"], 6), "test_loss": round(h["test_loss"], 6),
                "per_class": [round(float(v), 6) for v in per_class_accuracy(confusion_matrix(labels, preds))],
                "history": _lists(h), "wall_s": round(time.perf_counter() - t0, 2),
                "images_per_s": round(h["images_per_s"], 1), "peak_memory_mb": round(h["peak_memory_mb"], 1),
            }
            if name.startswith("CNN RGB"):
                stats = first_layer_activity(model, data["val"].loader(512))
                entry["filters"] = {k: [round(float(v), 6) for v in vals] for k, vals in stats.items()}
            if name == "MLP RGB":
                match = template_match(model, means)
                torch.manual_seed(seed)
                fresh = build_mlp(3)
                nb["init_weights"](fresh)
                entry["templates"] = {
                    "median_abs_best": match["median_abs_best"], "chance": match["chance"],
                    "share_above_0.3": match["share_above_0.3"],
                    "best_class": [CLASSES[int(k)] for k in match["best_class"]],
                    "best_corr": [round(float(v), 4) for v in match["best_corr"]],
                    "at_init_median_abs_best": template_match(fresh, means)["median_abs_best"],
                }
            record["runs"].append(entry)
            print(f"{name:>16} seed {seed}: test acc {entry['test_acc']:.4f}  {entry['wall_s']:.1f} s "
                  f"({time.perf_counter() - t_start:.0f} s so far)", flush=True)
            write("running")
    status = "smoke" if not full else "partial" if cut_short else "complete"
    write(status)
    print(f"wrote {args.out} (status {status}, {len(record['runs'])} runs, "
          f"{record['provenance']['wall_s']} s on {record['provenance']['device_name']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
