"""A fast CIFAR-10 training engine for notebook 05 (provided; your functions plug into it).

Why it is fast on a GPU:

* the whole dataset lives on the device as ``uint8`` (50,000 x 3 x 32 x 32 bytes = 150 MB), so
  no data loader, no host-to-device copies per batch;
* augmentation (random crop with 4 pixels of zero padding, horizontal flip) runs on the device
  for a whole batch at once: one gather with per-image row/column indices, the flip folded
  into the column indices;
* the gathered batch comes out in ``channels_last`` layout, which the tensor cores prefer;
* the forward pass runs under ``torch.autocast`` in bfloat16 on a cuda device with native bf16
  (compute capability 8.0 and later: A100, H100, H200, RTX 30xx/40xx); on older GPUs (T4, P100,
  V100) it runs in float32 (see :func:`choose_amp`);
* SGD uses the fused kernel (``torch.optim.SGD(..., fused=True)``) on cuda;
* nothing waits for the GPU inside an epoch: your ``train_one_epoch`` accumulates loss and
  correct counts as device tensors and converts them to Python numbers once, at the end;
* optionally ``torch.compile`` (``MLPLAB_COMPILE=1``; off by default).

The same code runs on cpu (slowly), which is how the notebook is tested without a GPU: in
quick mode (``MLPLAB_QUICK=1``, or no GPU) the experiments shrink to a few epochs on a few
thousand images. On cpu the fast paths are off by default but can be switched on explicitly
(``MLPLAB_AMP=1``, ``MLPLAB_FUSED=1``, ``MLPLAB_COMPILE=1``, or the fields of :class:`LabConfig`):
PyTorch supports bf16 autocast, the fused SGD kernel and ``torch.compile`` on cpu too, which is
how these code paths are tested on machines without a GPU.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from labutils.stats import seeds as stats_seeds
from labutils.torch_utils import configure_torch, pick_device

__all__ = [
    "LabConfig",
    "lab_config",
    "choose_amp",
    "native_bf16",
    "load_cifar_splits",
    "synthetic_cifar",
    "DeviceDataset",
    "random_crop_flip",
    "make_optimizer",
    "make_scheduler",
    "run_experiment",
    "peak_memory_mb",
    "synchronize",
]

# the CIFAR-10 class names, shown in titles and tables (one string of words: a translated edition renames them)
CLASSES = tuple("plane car bird cat deer dog frog horse ship truck".split())


# --------------------------------------------------------------------------- configuration
@dataclass
class LabConfig:
    """Everything that decides how the four experiments run."""

    device: str = "cpu"
    quick: bool = True
    epochs: int = 100
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    milestones: tuple[float, ...] = (0.5, 0.75)  # fractions of the epochs where lr is multiplied by gamma
    gamma: float = 0.1
    pad: int = 4
    num_validation: int = 5000
    max_train: int | None = None  # cap on training images (quick mode)
    max_test: int | None = None
    max_val: int | None = None
    mlp_epochs: int | None = None  # None: same as epochs
    cnn_max_train: int | None = None  # cap on the CNN runs' training images (quick mode: fewer than the MLP's)
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)  # one run per seed for every comparison of section 7
    amp: bool = False  # bf16 autocast
    channels_last: bool = True
    compile: bool = False
    fused: bool | None = None  # fused SGD kernel; None: on cuda only
    seed: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def amp_dtype(self) -> torch.dtype | None:
        return torch.bfloat16 if self.amp else None

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("notes")
        return d


def _env_flag(name: str) -> bool | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    return value.strip().lower() not in ("0", "false", "no", "off")


def lab_config(device: str | torch.device | None = None) -> LabConfig:
    """The configuration for this machine.

    Full mode (the report's schedule: 100 epochs on 45,000 / 5,000 / 10,000 images) runs on cuda
    unless ``MLPLAB_QUICK=1``. Quick mode (``MLPLAB_QUICK=1`` or no GPU; force full on a cpu with
    ``MLPLAB_FULL=1``) trains a few epochs on at most 1,024 images: numbers then only show that the
    pipeline works. ``MLPLAB_EPOCHS`` overrides the number of epochs.

    The fast paths: bf16 autocast is on by default on cuda (``MLPLAB_AMP=0`` turns it off) and off
    on cpu (``MLPLAB_AMP=1`` turns it on); ``torch.compile`` is off unless ``MLPLAB_COMPILE=1`` (on
    any device); the fused SGD kernel is used on cuda unless ``MLPLAB_FUSED=0``, and on cpu only with
    ``MLPLAB_FUSED=1``.
    """
    dev = torch.device(device) if device is not None else pick_device()
    configure_torch(dev)
    cuda = dev.type == "cuda"
    quick = os.environ.get("MLPLAB_QUICK", "") == "1" or (not cuda and not _env_flag("MLPLAB_FULL"))
    cfg = LabConfig(device=str(dev), quick=quick)
    if quick:
        cfg.epochs = 2
        cfg.batch_size = 64
        cfg.max_train = 512
        cfg.cnn_max_train = 128
        cfg.max_val = 100
        cfg.max_test = 300
        cfg.mlp_epochs = 4
        cfg.notes.append("QUICK MODE: a few epochs on a few images; the accuracies only show the pipeline works")
    cfg.amp, note = choose_amp(dev, _env_flag("MLPLAB_AMP"))
    if note:
        cfg.notes.append(note)
    cfg.compile = bool(_env_flag("MLPLAB_COMPILE"))
    cfg.fused = _env_flag("MLPLAB_FUSED")
    epochs = os.environ.get("MLPLAB_EPOCHS")
    if epochs:
        cfg.epochs = int(epochs)
        cfg.mlp_epochs = None
    cfg.seeds = tuple(stats_seeds(quick))  # 3 in quick mode, 5 in full mode
    count = os.environ.get("MLPLAB_SEEDS")
    if count:
        cfg.seeds = tuple(range(max(1, int(count))))
    return cfg


def native_bf16(device: torch.device | str) -> bool:
    """Whether ``device`` computes in bfloat16 natively (cuda compute capability 8.0 or later).

    ``torch.cuda.is_bf16_supported()`` alone answers True on a T4 or V100 too in recent PyTorch,
    because bf16 can be *emulated* there (slowly): the emulation is excluded where PyTorch lets us.
    """
    device = torch.device(device)
    if device.type != "cuda":
        return False
    try:
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    except TypeError:  # PyTorch older than 2.3: no emulation argument, check the capability as well
        major, _ = torch.cuda.get_device_capability(device)
        return bool(torch.cuda.is_bf16_supported()) and major >= 8


def choose_amp(device: torch.device | str, requested: bool | None = None) -> tuple[bool, str | None]:
    """Whether to train under bf16 autocast on ``device``, and a note for the user (or None).

    ``requested`` is ``MLPLAB_AMP`` (None: not set). On cuda, bf16 autocast is on by default exactly
    when the GPU has native bf16 (:func:`native_bf16`: A100, H100, H200, RTX 30xx/40xx); on a T4,
    P100 or V100 the runs stay in float32. (float16 autocast would be faster there but needs a
    ``GradScaler`` inside *your* ``train_one_epoch``, whose contract is plain backward and step: so
    the kit does not switch to it behind your back.) ``MLPLAB_AMP=1`` on such a GPU is refused with
    a note rather than emulated. On a cpu it is off unless ``MLPLAB_AMP=1`` (PyTorch supports bf16
    autocast on cpu).
    """
    device = torch.device(device)
    if device.type != "cuda":
        return bool(requested), None
    if requested is False:
        return False, None
    if native_bf16(device):
        return True, None
    name = torch.cuda.get_device_name(device)
    return False, (f"{name} has no native bfloat16: training in float32 (slower; see the time estimates "
                   "per GPU class in the notebook)")


# --------------------------------------------------------------------------- data
def synthetic_cifar(n_train: int = 2000, n_test: int = 1000, seed: int = 0):
    """A small generated stand-in for CIFAR-10 (uint8 (N, 3, 32, 32), labels 0..9).

    Class ``c`` is a coloured stripe pattern with orientation ``c * 18`` degrees, random phase,
    random shift and noise: learnable, but not trivially by a linear model.
    """
    rng = np.random.default_rng(seed)

    def make(n: int):
        y = rng.integers(0, 10, size=n)
        yy, xx = np.mgrid[0:32, 0:32].astype(np.float32)
        theta = (y * np.pi / 10)[:, None, None]
        freq = rng.uniform(0.35, 0.6, size=(n, 1, 1))
        phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
        wave = np.sin(freq * (xx * np.cos(theta) + yy * np.sin(theta)) + phase)
        colour = np.stack([np.cos(y * 0.6), np.sin(y * 0.9), np.cos(y * 1.7)], axis=1)[:, :, None, None]
        img = 128 + 60 * wave[:, None] * (0.6 + 0.4 * colour) + rng.normal(0, 25, size=(n, 3, 32, 32))
        return np.clip(img, 0, 255).astype(np.uint8), y.astype(np.int64)

    x_train, y_train = make(n_train)
    x_test, y_test = make(n_test)
    return x_train, y_train, x_test, y_test


def load_cifar_splits(cfg: LabConfig, path=None, log: Callable[[str], None] = print) -> dict:
    """CIFAR-10 as uint8 numpy arrays split into train / validation / test.

    The validation images are the last ``cfg.num_validation`` training images (45,000 / 5,000 on
    the full dataset; 10% when fewer than 50,000 are present). Falls back to
    :func:`synthetic_cifar` with a loud notice when no CIFAR-10 files can be found.
    Returns ``x_train, y_train, x_val, y_val, x_test, y_test`` and ``source``.
    """
    try:
        from labutils.data import load_cifar10_raw  # noqa: PLC0415

        x_train, y_train, x_test, y_test = load_cifar10_raw(path)
        source = "CIFAR-10"
    except (FileNotFoundError, ImportError) as exc:
        bar = "!" * 78
        log(f"{bar}\n!! NO CIFAR-10 FILES FOUND: using a small GENERATED dataset instead.\n!! {exc}\n"
            f"!! Set MLPLAB_DATA to a folder with cifar-10-batches-py/ for real results.\n{bar}")
        x_train, y_train, x_test, y_test = synthetic_cifar(seed=cfg.seed)
        source = "synthetic"
    n = len(x_train)
    n_val = cfg.num_validation if n >= 10 * cfg.num_validation else max(1, n // 10)
    n_fit = n - n_val
    if cfg.max_train is not None:
        n_fit = min(n_fit, cfg.max_train)
    n_test = len(x_test) if cfg.max_test is None else min(len(x_test), cfg.max_test)
    val_end = n if cfg.max_val is None else n - n_val + min(n_val, cfg.max_val)
    return {
        "x_train": x_train[:n_fit], "y_train": y_train[:n_fit],
        "x_val": x_train[n - n_val:val_end], "y_val": y_train[n - n_val:val_end],
        "x_test": x_test[:n_test], "y_test": y_test[:n_test],
        "source": source,
    }


def random_crop_flip(x: torch.Tensor, pad: int = 4, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random ``pad``-pixel translation (zero padding, then a crop of the original size) and random
    horizontal flip of every image of the batch ``x`` (N, C, H, W), done on ``x``'s device.

    One gather does it all: image ``i`` takes rows ``oy_i .. oy_i + H - 1`` and columns
    ``ox_i .. ox_i + W - 1`` of its padded version, the columns reversed when it is flipped. The
    result has ``x``'s dtype and comes out in channels_last memory layout.
    """
    n, _, h, w = x.shape
    dev = x.device
    padded = F.pad(x, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (n, 1), device=dev, generator=generator)
    ox = torch.randint(0, 2 * pad + 1, (n, 1), device=dev, generator=generator)
    flip = torch.rand((n, 1), device=dev, generator=generator) < 0.5
    rows = oy + torch.arange(h, device=dev)
    cols = ox + torch.arange(w, device=dev)
    cols = torch.where(flip, cols.flip(1), cols)
    batch = torch.arange(n, device=dev)[:, None, None]
    out = padded[batch, :, rows[:, :, None], cols[:, None, :]]  # (N, H, W, C)
    return out.permute(0, 3, 1, 2)


class DeviceDataset:
    """Images held on ``device`` as uint8 (N, C, 32, 32) with int64 labels.

    :meth:`batches` yields normalised float batches ``(x, y)`` on the device, optionally shuffled
    and augmented, without any host synchronisation. Normalisation uses the per-channel mean/std
    of ``stats_from`` (the training set) or of these images.
    """

    def __init__(self, images, labels, device, stats_from: DeviceDataset | None = None,
                 channels_last: bool = True) -> None:
        self.device = torch.device(device)
        self.x = torch.as_tensor(images).to(self.device)
        self.y = torch.as_tensor(np.asarray(labels) if not isinstance(labels, torch.Tensor) else labels)
        self.y = self.y.to(self.device, dtype=torch.long)
        if self.x.dtype != torch.uint8 or self.x.ndim != 4:
            raise ValueError(f"expected uint8 images (N, C, H, W), got {self.x.dtype} {tuple(self.x.shape)}")
        if len(self.x) != len(self.y):
            raise ValueError(f"{len(self.x)} images but {len(self.y)} labels")
        self.channels_last = channels_last
        if stats_from is None:
            flat = self.x.transpose(0, 1).reshape(self.x.shape[1], -1).float() / 255
            self.mean, self.std = flat.mean(dim=1), flat.std(dim=1)
        else:
            self.mean, self.std = stats_from.mean, stats_from.std
        self._scale = (1.0 / (255.0 * self.std)).view(1, -1, 1, 1)
        self._shift = (self.mean / self.std).view(1, -1, 1, 1)

    def __len__(self) -> int:
        return len(self.x)

    @property
    def channels(self) -> int:
        return int(self.x.shape[1])

    def normalize(self, x_uint8: torch.Tensor) -> torch.Tensor:
        """uint8 -> float32 ``(x / 255 - mean) / std``, channels_last if configured."""
        x = x_uint8.float() * self._scale - self._shift
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def batches(self, batch_size: int, shuffle: bool = False, augment: bool = False, pad: int = 4,
                generator: torch.Generator | None = None, drop_last: bool = False) -> Iterator:
        """Yield ``(x float32 (B, C, H, W), y int64 (B,))`` on the device."""
        n = len(self.x)
        order = torch.randperm(n, device=self.device, generator=generator) if shuffle else None
        stop = n - n % batch_size if drop_last and n >= batch_size else n
        for start in range(0, stop, batch_size):
            if order is None:
                xb, yb = self.x[start:start + batch_size], self.y[start:start + batch_size]
            else:
                idx = order[start:start + batch_size]
                xb, yb = self.x[idx], self.y[idx]
            if augment:
                xb = random_crop_flip(xb, pad, generator)
            yield self.normalize(xb), yb

    def loader(self, batch_size: int, **kw) -> _Loader:
        """A re-iterable view of :meth:`batches` (each iteration reshuffles), with ``len``."""
        return _Loader(self, batch_size, kw)


class _Loader:
    def __init__(self, ds: DeviceDataset, batch_size: int, kw: dict) -> None:
        self.ds, self.batch_size, self.kw = ds, batch_size, kw

    def __iter__(self):
        return self.ds.batches(self.batch_size, **self.kw)

    def __len__(self) -> int:
        n = len(self.ds)
        return n // self.batch_size if self.kw.get("drop_last") and n >= self.batch_size else math.ceil(
            n / self.batch_size)


# --------------------------------------------------------------------------- optimisation
def make_optimizer(model: nn.Module, lr: float = 0.1, momentum: float = 0.9, weight_decay: float = 5e-4,
                   nesterov: bool = False, fused: bool | None = None) -> torch.optim.SGD:
    """SGD with momentum and weight decay.

    ``fused``: True uses PyTorch's fused SGD kernel (one kernel launch for all parameters; cuda,
    and cpu in the PyTorch this kit pins), False the default implementation, None (default) the
    fused kernel exactly when every parameter is on cuda.
    """
    params = list(model.parameters())
    if fused is None:
        fused = bool(params) and all(p.is_cuda for p in params)
    kwargs = {"fused": True} if fused else {}
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov,
                           **kwargs)


def make_scheduler(optimizer: torch.optim.Optimizer, epochs: int, milestones=(0.5, 0.75),
                   gamma: float = 0.1) -> torch.optim.lr_scheduler.MultiStepLR:
    """Multiply the learning rate by ``gamma`` after 50% and 75% of the epochs (stepped once per epoch)."""
    marks = sorted({max(1, int(f * epochs)) for f in milestones})  # floor: 3 epochs decay after 1 and 2
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=marks, gamma=gamma)


# --------------------------------------------------------------------------- measuring
def synchronize(device) -> None:
    """Wait for the device (no-op on cpu)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_memory_mb(device) -> float:
    """Peak device memory allocated by torch (cuda), or peak resident memory of this process (cpu), in MiB."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        import resource  # noqa: PLC0415 - not available on Windows
    except ImportError:
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


# --------------------------------------------------------------------------- experiments
def run_experiment(name: str, build: Callable[[], nn.Module], init: Callable[[nn.Module], object] | None,
                   train_one_epoch: Callable, evaluate: Callable, data: dict[str, DeviceDataset], cfg: LabConfig,
                   epochs: int | None = None, log: Callable[[str], None] = print,
                   max_train: int | None = None, seed: int | None = None) -> dict:
    """Train one model with the lab's recipe and return its history.

    ``build()`` makes the model, ``init(model)`` initialises it, then every epoch calls
    ``train_one_epoch(model, batches, optimizer, device, scheduler, amp_dtype)`` on shuffled,
    augmented training batches and ``evaluate(model, batches, device, amp_dtype)`` on the validation
    set; at the end ``evaluate`` runs once on the test set.

    Returns a dict with ``model`` (the trained module), ``train_loss, train_acc, val_loss, val_acc,
    lr, epoch_time`` (one entry per epoch), ``test_loss, test_acc``, ``test_pred`` (int64 (N_test,),
    the predicted classes of the test images in order, or None), ``images_per_s`` (training
    throughput after the first epoch) and ``peak_memory_mb``.

    ``max_train`` trains on the first ``max_train`` training images only (quick mode's CNN runs);
    ``seed`` (default ``cfg.seed``) seeds the initialisation, the shuffling, the augmentation and dropout.
    """
    device = torch.device(cfg.device)
    epochs = int(epochs or cfg.epochs)
    seed = cfg.seed if seed is None else int(seed)
    torch.manual_seed(seed)
    model = build()
    if init is not None:
        init(model)
    model = model.to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    runner = torch.compile(model) if cfg.compile else model
    optimizer = make_optimizer(model, cfg.lr, cfg.momentum, cfg.weight_decay, fused=cfg.fused)
    scheduler = make_scheduler(optimizer, epochs, cfg.milestones, cfg.gamma)
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    train, val, test = data["train"], data["val"], data["test"]
    if max_train is not None and max_train < len(train):
        train = DeviceDataset(train.x[:max_train], train.y[:max_train], device, stats_from=train,
                              channels_last=train.channels_last)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    hist: dict = {"name": name, "seed": seed, "train_size": len(train), "train_loss": [], "train_acc": [],
                  "val_loss": [], "val_acc": [], "lr": [],
                  "epoch_time": []}
    n_seen = 0
    for epoch in range(epochs):
        hist["lr"].append(optimizer.param_groups[0]["lr"])
        loader = train.loader(cfg.batch_size, shuffle=True, augment=True, pad=cfg.pad, generator=gen,
                              drop_last=True)
        t0 = time.perf_counter()
        tr = train_one_epoch(runner, loader, optimizer, device, scheduler, cfg.amp_dtype)
        synchronize(device)
        dt = time.perf_counter() - t0
        va = evaluate(runner, val.loader(512), device, cfg.amp_dtype)
        hist["epoch_time"].append(dt)
        if epoch > 0 or epochs == 1:
            n_seen += len(loader) * cfg.batch_size
        for key, src, field_ in (("train_loss", tr, "loss"), ("train_acc", tr, "accuracy"),
                                 ("val_loss", va, "loss"), ("val_acc", va, "accuracy")):
            hist[key].append(float(src[field_]))
        if epoch == 0 or epoch == epochs - 1 or (epoch + 1) % max(1, epochs // 10) == 0:
            log(f"{name:>10} epoch {epoch + 1:3d}/{epochs}  lr {hist['lr'][-1]:.4f}  "
                f"train loss {hist['train_loss'][-1]:.3f} acc {hist['train_acc'][-1]:.3f}  "
                f"val acc {hist['val_acc'][-1]:.3f}  ({dt:.1f}s)")
    # the test pass of your evaluate, watched by a forward hook: its predictions come for free (for the
    # confusion matrices); None when the model was compiled or evaluate did not see each image once
    outputs: list[torch.Tensor] = []

    def watch(module, inputs, out) -> None:
        if isinstance(out, torch.Tensor) and out.ndim == 2:
            outputs.append(out.detach().argmax(dim=1))

    hook = model.register_forward_hook(watch)
    try:
        te = evaluate(runner, test.loader(512), device, cfg.amp_dtype)
    finally:
        hook.remove()
    preds = torch.cat(outputs).cpu().numpy() if outputs else None
    hist["test_pred"] = preds if preds is not None and len(preds) == len(test) and not cfg.compile else None
    timed = hist["epoch_time"][1:] or hist["epoch_time"]
    hist.update(
        model=model,
        test_loss=float(te["loss"]),
        test_acc=float(te["accuracy"]),
        images_per_s=n_seen / max(1e-9, sum(timed)),
        total_time=float(sum(hist["epoch_time"])),
        peak_memory_mb=peak_memory_mb(device),
    )
    log(f"{name:>10} test accuracy {hist['test_acc']:.4f}  ({hist['total_time']:.0f}s training, "
        f"{hist['images_per_s']:.0f} images/s)")
    return hist
