"""Throughput of notebook 05's training code (the reference solution + labutils.cifar_gpu).

Runs the notebook's own functions (``build_mlp`` / ``build_cnn``, ``init_weights``,
``train_one_epoch``, ``evaluate``: the solution cells of
``source/mlp/05_mlp_vs_cnn.ipynb``) through the same engine the notebook uses, for a
given number of epochs, and prints per-epoch time, training images/s and peak memory.

    .venv/bin/python benchmarks/bench_gpu.py --model cnn --epochs 3 --synthetic 10000
    .venv/bin/python benchmarks/bench_gpu.py --model mlp --epochs 5 --data ../shared/data
    .venv/bin/python benchmarks/bench_gpu.py --model both --epochs 100 --data /path/to/data   # the full schedule
    .venv/bin/python benchmarks/bench_gpu.py --model both --epochs 0 --check-sync --amp --fused --synthetic 2000

Options: ``--device`` (default: cuda if available), ``--batch-size``, ``--gray`` (grayscale
input through ``to_grayscale``), ``--compile`` (torch.compile, any device), ``--amp`` /
``--no-amp`` (bf16 autocast; default on for cuda, off for cpu), ``--fused`` / ``--no-fused``
(fused SGD kernel; default on for cuda, off for cpu), ``--check-sync`` (count the host
synchronisations of ``train_one_epoch`` before timing: on cuda it also runs the epoch under
``torch.cuda.set_sync_debug_mode("error")``), ``--json``. With ``--synthetic N`` the data are N
generated CIFAR-shaped images, split 90 / 10 into training and validation (plus N/5 test
images), otherwise CIFAR-10 from ``--data`` / ``$MLPLAB_DATA`` (whatever batches are present).
``--epochs 0`` runs only the sync check.

Every run also reports ``projected_full_run_s``: the time of one run of the report's schedule
(100 epochs on 45,000 training and 5,000 validation images, then 10,000 test images), projected
from the measured steady per-image times of training and evaluation plus the measured one-off
cost of the first epoch (warm-up, compilation).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
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
    make_optimizer,
    peak_memory_mb,
    run_experiment,
    synchronize,
    synthetic_cifar,
)
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

from mlplab.notebooks import grading_code, read_cells  # noqa: E402

NOTEBOOK = ROOT / "source" / "mlp" / "05_mlp_vs_cnn.ipynb"
FULL_TRAIN, FULL_VAL, FULL_TEST, FULL_EPOCHS = 45_000, 5_000, 10_000, 100


def notebook_functions(path: Path = NOTEBOOK) -> dict:
    """Execute the notebook's solution cells and imports (not its experiments) and return the namespace."""
    namespace: dict = {"__name__": "notebook05"}
    for unit in grading_code(read_cells(path), path.parent / "labutils"):
        exec(compile(unit.source, f"<{path.name} {unit.label}>", "exec"), namespace)
    return namespace


# --------------------------------------------------------------------------- host synchronisations
_aten = torch.ops.aten
# aten operators that make the host wait for the device: a value read into Python, a boolean answer,
# or an output whose size depends on the data
_SYNC_OPS = {
    _aten._local_scalar_dense.default: "item",  # .item(), float(), int(), bool(), if t:, print(t)
    _aten.allclose.default: "allclose",
    _aten.equal.default: "equal",
    _aten.nonzero.default: "nonzero",
    _aten.masked_select.default: "masked_select",
    _aten._unique2.default: "unique",
    _aten.unique_dim.default: "unique",
    _aten.unique_consecutive.default: "unique_consecutive",
    _aten.repeat_interleave.Tensor: "repeat_interleave",
}
# Python-level Tensor methods that wait for the device (counted even on a cpu tensor, where they do not
# wait, because on a GPU they would); the dunders duplicate _local_scalar_dense but also catch a compiled model
_SYNC_METHODS = ("item", "tolist", "numpy", "cpu", "__bool__", "__float__", "__int__", "__index__")


class HostSyncCounter:
    """Counts host synchronisations (the host waiting for the device) around one training epoch.

    Use as a context manager and pass the batches through :meth:`wrap`; the loop *window* opens
    when the first batch is asked for and closes when the batches run out, so ``inside`` counts the
    synchronisations made per batch and ``outside`` those made before or after the loop
    (converting the accumulated loss and accuracy once at the end is two ``.item()`` calls)::

        with HostSyncCounter() as sync:
            train_one_epoch(model, sync.wrap(loader), optimizer, device, scheduler, amp_dtype)
        assert sync.inside == 0

    Counted: values read into Python (``.item()``, ``float()``, ``int()``, ``bool()``, ``if t:``,
    printing a tensor), ``.tolist()``, ``.numpy()``, ``.cpu()``, copies to the cpu from another
    device, ``torch.allclose`` / ``torch.equal`` and operators whose output size depends on the
    data (``nonzero``, boolean-mask indexing, ``masked_select``, ``unique``). On a cpu these do not
    really wait for anything; they are counted because on a GPU they would. The count is made by a
    ``TorchDispatchMode`` (operators, also those called from C++) plus patched ``torch.Tensor``
    methods, both active only inside the ``with`` block; a method call and the operator it runs
    count once.

    ``cuda_error=True`` additionally runs the loop window under
    ``torch.cuda.set_sync_debug_mode("error")`` when the device is cuda, so that CUDA itself
    raises ``RuntimeError`` at the first synchronising call inside the loop (the mode is restored
    when the window closes or the block exits).
    """

    def __init__(self, cuda_error: bool = False, dispatch: bool = True) -> None:
        self.cuda_error = cuda_error and torch.cuda.is_available()
        self.dispatch = dispatch
        self.inside = 0
        self.outside = 0
        self.batches = 0
        self.events: list[dict] = []  # the first 20: {"what", "inside", "where"}
        self._in_loop = False
        self._depth = 0
        self._saved: dict[str, object] = {}
        self._mode: TorchDispatchMode | None = None
        self._cuda_mode_before: int | None = None

    @property
    def total(self) -> int:
        return self.inside + self.outside

    def _record(self, what: str) -> None:
        if self._in_loop:
            self.inside += 1
        else:
            self.outside += 1
        if len(self.events) < 20:
            self.events.append({"what": what, "inside": self._in_loop, "where": _caller()})

    def _patch(self) -> None:
        counter = self

        def make(name: str, original):
            def counted(self, *args, **kwargs):
                if counter._depth == 0:
                    counter._record(name.strip("_"))
                counter._depth += 1
                try:
                    return original(self, *args, **kwargs)
                finally:
                    counter._depth -= 1

            counted.__name__ = name
            return counted

        for name in _SYNC_METHODS:
            self._saved[name] = torch.Tensor.__dict__.get(name)
            setattr(torch.Tensor, name, make(name, getattr(torch.Tensor, name)))

    def _unpatch(self) -> None:
        for name, original in self._saved.items():
            if original is None:
                delattr(torch.Tensor, name)
            else:
                setattr(torch.Tensor, name, original)
        self._saved.clear()

    def __enter__(self) -> HostSyncCounter:
        self._patch()
        if self.dispatch:
            self._mode = _SyncOps(self)
            self._mode.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._close_window()
        if self._mode is not None:
            self._mode.__exit__(*exc)
            self._mode = None
        self._unpatch()

    def _open_window(self) -> None:
        self._in_loop = True
        if self.cuda_error:
            self._cuda_mode_before = torch.cuda.get_sync_debug_mode()
            torch.cuda.set_sync_debug_mode("error")

    def _close_window(self) -> None:
        if self._cuda_mode_before is not None:
            torch.cuda.set_sync_debug_mode(self._cuda_mode_before)
            self._cuda_mode_before = None
        self._in_loop = False

    def wrap(self, batches):
        """Yield the items of ``batches``, counting them, with the loop window open meanwhile."""
        self._open_window()
        try:
            for item in batches:
                self.batches += 1
                yield item
        finally:
            self._close_window()

    def as_dict(self) -> dict:
        return {"batches": self.batches, "inside_loop": self.inside, "outside_loop": self.outside,
                "events": self.events[:8]}


class _SyncOps(TorchDispatchMode):
    def __init__(self, counter: HostSyncCounter) -> None:
        super().__init__()
        self.counter = counter

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.counter._depth == 0:
            what = _SYNC_OPS.get(func)
            if what is None and func in (_aten._to_copy.default, _aten.copy_.default):
                what = _copy_to_cpu(func, args, kwargs)
            if what is None and func is _aten.index.Tensor and any(
                    isinstance(i, torch.Tensor) and i.dtype in (torch.bool, torch.uint8) for i in args[1]):
                what = "boolean-mask indexing"
            if what is not None:
                self.counter._record(what)
        return func(*args, **kwargs)


def _copy_to_cpu(func, args, kwargs) -> str | None:
    if func is _aten._to_copy.default:
        src, dst = args[0].device, kwargs.get("device")
        dst = torch.device(dst) if dst is not None else src
    else:
        dst, src = args[0].device, args[1].device
    return "copy to cpu" if dst.type == "cpu" and src.type != "cpu" else None


def _caller() -> str:
    """file:line of the innermost frame outside torch and this file (where the sync was asked for)."""
    frame = sys._getframe(2)
    here = Path(__file__).name
    while frame is not None:
        name = frame.f_code.co_filename
        if "torch" not in Path(name).parts and not name.endswith(here):
            return f"{Path(name).name}:{frame.f_lineno} in {frame.f_code.co_name}"
        frame = frame.f_back
    return "?"


def check_host_syncs(ns: dict, model_name: str, data: dict, cfg, warmup: bool = True) -> dict:
    """Run the notebook's ``train_one_epoch`` for one epoch on ``data["train"]`` under a :class:`HostSyncCounter`.

    The model, optimiser, batches and autocast are the ones :func:`run_experiment` uses with
    ``cfg``. With ``warmup`` an unchecked epoch runs first (cuDNN autotuning, compilation). On cuda
    the checked epoch runs under ``set_sync_debug_mode("error")`` inside its loop. Returns the
    counts, ``cuda_error`` (the error text, if CUDA raised) and ``ok`` (no synchronisation inside
    the loop, at most 2 after it).
    """
    device = torch.device(cfg.device)
    torch.manual_seed(cfg.seed)
    channels = data["train"].channels
    model = ns["init_weights"](ns[f"build_{model_name}"](channels)).to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    runner = torch.compile(model) if cfg.compile else model
    optimizer = make_optimizer(model, cfg.lr, cfg.momentum, cfg.weight_decay, fused=cfg.fused)
    gen = torch.Generator(device=device)
    gen.manual_seed(cfg.seed)

    def loader():
        return data["train"].loader(cfg.batch_size, shuffle=True, augment=True, pad=cfg.pad, generator=gen,
                                    drop_last=True)

    if warmup:
        ns["train_one_epoch"](runner, loader(), optimizer, device, None, cfg.amp_dtype)
        synchronize(device)
    cuda_error = None
    # a compiled model is counted by the patched methods only: the dispatch mode is kept away from torch.compile
    counter = HostSyncCounter(cuda_error=device.type == "cuda", dispatch=not cfg.compile)
    try:
        with counter:
            ns["train_one_epoch"](runner, counter.wrap(loader()), optimizer, device, None, cfg.amp_dtype)
    except RuntimeError as exc:
        if device.type != "cuda":
            raise
        cuda_error = f"{type(exc).__name__}: {exc}".strip()[:2000]
        cuda_error += "\n" + "".join(traceback.format_tb(exc.__traceback__)[-4:])
    result = counter.as_dict()
    result.update(model=model_name, cuda_sync_debug_mode="error" if device.type == "cuda" else None,
                  cuda_error=cuda_error, counted_by="methods" if cfg.compile else "methods+dispatch")
    result["ok"] = cuda_error is None and counter.inside == 0 and counter.outside <= 2
    return result


# --------------------------------------------------------------------------- benchmark
def _timed(fn, device, times: list):
    def wrapped(*args, **kwargs):
        synchronize(device)
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        synchronize(device)
        times.append(time.perf_counter() - t0)
        return out

    return wrapped


def project_full_run(train_s: list[float], val_s: list[float], test_s: float, n_train: int, n_val: int,
                     n_test: int) -> float:
    """Seconds for one run of the report's schedule, from one run's measured times (see the module doc)."""
    steady_train = float(np.median(train_s[1:] or train_s))
    steady_val = float(np.median(val_s[1:] or val_s))
    warmup = max(0.0, train_s[0] - steady_train) + max(0.0, val_s[0] - steady_val)
    per_train, per_eval = steady_train / n_train, steady_val / n_val
    return warmup + FULL_EPOCHS * (FULL_TRAIN * per_train + FULL_VAL * per_eval) + FULL_TEST * per_eval


def _synthetic(n: int, cache: str | None):
    path = Path(cache) / f"synthetic_cifar_{n}.npz" if cache else None
    if path is not None and path.exists():
        with np.load(path) as f:
            return f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    arrays = synthetic_cifar(n, max(1, n // 5), seed=0)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.npz")
        np.savez(tmp, **dict(zip(("x_train", "y_train", "x_test", "y_test"), arrays, strict=True)))
        tmp.replace(path)
    return arrays


def _flag(args, name: str, default: bool) -> bool:
    value = getattr(args, name)
    return default if value is None else value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["mlp", "cnn", "both"], default="cnn")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per timed run (0: sync check only)")
    parser.add_argument("--synthetic", type=int, default=0, metavar="N", help="N generated images (90%% training)")
    parser.add_argument("--synthetic-cache", default=None, metavar="DIR",
                        help="keep the generated images in DIR (generating 50,000 takes about 10 s)")
    parser.add_argument("--data", default=None, help="folder with cifar-10-batches-py/ (default $MLPLAB_DATA)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--gray", action="store_true", help="grayscale input (to_grayscale)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                        help="bf16 autocast (default: on for cuda, off for cpu)")
    parser.add_argument("--fused", action=argparse.BooleanOptionalAction, default=None,
                        help="fused SGD kernel (default: on for cuda, off for cpu)")
    parser.add_argument("--check-sync", action="store_true",
                        help="count host synchronisations of train_one_epoch (cuda: sync debug mode 'error')")
    parser.add_argument("--threads", type=int, default=None, help="cpu threads (default: free cores)")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    args = parser.parse_args(argv)

    if args.threads:
        os.environ["MLPLAB_THREADS"] = str(args.threads)
    for name in ("MLPLAB_QUICK", "MLPLAB_EPOCHS", "MLPLAB_AMP", "MLPLAB_COMPILE", "MLPLAB_FUSED"):
        os.environ.pop(name, None)
    cfg = lab_config(args.device)
    device = torch.device(cfg.device)
    cuda = device.type == "cuda"
    cfg.quick, cfg.max_train, cfg.max_test, cfg.mlp_epochs = False, None, None, None
    cfg.epochs, cfg.batch_size = args.epochs, args.batch_size
    cfg.amp = _flag(args, "amp", cuda)
    cfg.fused = _flag(args, "fused", cuda)
    cfg.compile = bool(args.compile)

    ns = notebook_functions()
    t0 = time.perf_counter()
    if args.synthetic:
        x_train, y_train, x_test, y_test = _synthetic(args.synthetic, args.synthetic_cache)
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
    if cuda:
        name += f" ({torch.cuda.get_device_name(device)})"
    else:
        name += f" ({torch.get_num_threads()} threads)"
    print(f"torch {torch.__version__}; device {name}; data {splits['source']}: train {len(data['train'])}, "
          f"val {len(data['val'])}, test {len(data['test'])}, {channels} channel(s), loaded in {load_s:.1f}s")
    print(f"used: batch {cfg.batch_size}, epochs {cfg.epochs}, bf16 autocast {cfg.amp}, fused SGD {cfg.fused}, "
          f"compile {cfg.compile}, channels_last {cfg.channels_last}")

    models = ["mlp", "cnn"] if args.model == "both" else [args.model]
    report = {"device": name, "torch": torch.__version__, "data": splits["source"], "n_train": len(data["train"]),
              "n_val": len(data["val"]), "n_test": len(data["test"]), "channels": channels,
              "epochs": cfg.epochs, "batch_size": cfg.batch_size, "amp": cfg.amp, "fused": cfg.fused,
              "compile": cfg.compile, "channels_last": cfg.channels_last, "runs": {}}
    for model_name in models if cfg.epochs > 0 else []:
        builder = ns["build_mlp"] if model_name == "mlp" else ns["build_cnn"]
        eval_times: list[float] = []
        evaluate = _timed(ns["evaluate"], device, eval_times)
        if cuda:
            torch.cuda.reset_peak_memory_stats(device)
        t_run = time.perf_counter()
        hist = run_experiment(model_name.upper(), lambda b=builder: b(channels), ns["init_weights"],
                              ns["train_one_epoch"], evaluate, data, cfg, log=lambda s: None)
        wall = time.perf_counter() - t_run
        times = hist["epoch_time"]
        for i, t in enumerate(times):
            print(f"{model_name.upper():>4} epoch {i + 1:3d}: {t:7.2f}s (+ val {eval_times[i]:5.2f}s)  "
                  f"train loss {hist['train_loss'][i]:.3f} acc {hist['train_acc'][i]:.3f}  "
                  f"val acc {hist['val_acc'][i]:.3f}")
        steady = times[1:] or times
        val_times, test_time = eval_times[:-1], eval_times[-1]
        projected = project_full_run(times, val_times, test_time, len(data["train"]), len(data["val"]),
                                     len(data["test"]))
        print(f"{model_name.upper():>4}: first epoch {times[0]:.2f}s, steady {np.median(steady):.2f}s/epoch "
              f"+ val {np.median(val_times[1:] or val_times):.2f}s, {hist['images_per_s']:.0f} train images/s, "
              f"test acc {hist['test_acc']:.4f}, peak memory {hist['peak_memory_mb']:.0f} MiB, "
              f"run {wall:.1f}s; projected full run ({FULL_EPOCHS} epochs, {FULL_TRAIN:,} images) {projected:.0f}s")
        report["runs"][model_name] = {
            "epoch_time_s": times, "first_epoch_s": times[0], "median_epoch_s": float(np.median(steady)),
            "val_time_s": val_times, "median_val_s": float(np.median(val_times[1:] or val_times)),
            "test_time_s": test_time, "run_wall_s": wall,
            "images_per_s": hist["images_per_s"], "train_loss": hist["train_loss"], "test_acc": hist["test_acc"],
            "peak_memory_mb": hist["peak_memory_mb"], "projected_full_run_s": projected,
        }
    # after the timed runs, so that their first epoch includes the compilation (reused by the check)
    status = 0
    if args.check_sync:
        report["sync_check"] = {}
        for model_name in models:
            res = check_host_syncs(ns, model_name, data, cfg)
            report["sync_check"][model_name] = res
            print(f"{model_name.upper():>4} sync check: {res['batches']} batches, {res['inside_loop']} host syncs "
                  f"inside the loop, {res['outside_loop']} after it"
                  + (f"; cuda sync debug mode 'error': {'passed' if res['cuda_error'] is None else 'RAISED'}"
                     if cuda else "") + f" -> {'OK' if res['ok'] else 'FAILED'}")
            for event in res["events"]:
                print(f"       {'inside' if event['inside'] else 'after '} {event['what']:>10} at {event['where']}")
            if res["cuda_error"]:
                print(res["cuda_error"])
            status = status or (0 if res["ok"] else 3)

    report["peak_memory_mb"] = peak_memory_mb(device)
    if args.json:
        print(json.dumps(report))
    return status


if __name__ == "__main__":
    sys.exit(main())
