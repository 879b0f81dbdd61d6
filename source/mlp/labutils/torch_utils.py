"""Small PyTorch helpers for notebook 05 (provided to students, no solutions inside).

Two groups of functions live here:

* everyday helpers: :func:`pick_device`, :func:`count_parameters`, :func:`describe_layers`,
  :func:`manual_seed`;
* *value adapters*: functions that take and return only plain values (numbers, strings,
  numpy arrays, lists/dicts of them) besides the model itself. The autograder talks to
  your code through such values, so it uses these adapters to read a model's weights
  (:func:`state_arrays`), to set them (:func:`load_state_arrays`), to feed numpy inputs to
  a model or to one of your functions (:func:`forward_numpy`, :func:`numpy_call`) and to
  build mini-batches from numpy arrays (:func:`tensor_batches`). You may use them too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "pick_device",
    "configure_torch",
    "cpu_threads",
    "manual_seed",
    "count_parameters",
    "describe_layers",
    "state_arrays",
    "parameter_arrays",
    "parameter_shapes",
    "buffer_arrays",
    "load_state_arrays",
    "forward_numpy",
    "count_host_syncs",
    "numpy_call",
    "TensorBatches",
    "tensor_batches",
    "is_training",
    "record_grad_mode",
    "grad_mode_log",
    "optimizer_lr",
    "layer_shapes",
    "OnceBatches",
    "once_batches",
    "loop_events",
]


# --------------------------------------------------------------------------- devices
def pick_device(prefer: str | None = None) -> torch.device:
    """The device to train on: ``prefer`` (or ``$MLPLAB_DEVICE``) if given, else cuda when available, else cpu."""
    name = prefer or os.environ.get("MLPLAB_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def configure_torch(device: torch.device | str) -> None:
    """Sensible global settings for ``device``.

    cuda: cuDNN autotuning and TF32 matrix products (the bf16 autocast does the rest).
    cpu: one intra-op thread per core that is free right now (cores this process may use minus the
    current load average, at least 1, at most 16), or ``$MLPLAB_THREADS``. More threads than free
    cores makes PyTorch's spinning worker threads fight and can be many times *slower* than one.
    """
    device = torch.device(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    else:
        torch.set_num_threads(cpu_threads())


def cpu_threads() -> int:
    """How many intra-op threads to use on the cpu (see :func:`configure_torch`)."""
    env = os.environ.get("MLPLAB_THREADS")
    if env:
        return max(1, int(env))
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        free = cores - int(os.getloadavg()[0])
    except (AttributeError, OSError):
        free = cores
    return max(1, min(16, cores, free))


def manual_seed(seed: int) -> None:
    """Seed torch (all devices) and numpy's legacy global generator."""
    torch.manual_seed(int(seed))
    np.random.seed(int(seed) % (2**32))


# --------------------------------------------------------------------------- inspection
def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of ``model``."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only))


def describe_layers(model: nn.Module, example_shape: tuple[int, ...] | None = None) -> list[dict]:
    """One dict per leaf module: its name, type and main settings.

    Without ``example_shape``, in registration order. With it (e.g. ``(2, 3, 32, 32)``), one dict per
    *call* in the order a forward pass on zeros of that shape (eval mode, no gradients) runs the leaf
    modules: a module used twice appears twice and one never called not at all, so the list shows the
    computation whatever order the layers were registered in.

    Convolutions report ``in_channels, out_channels, kernel_size, stride, padding``; linear
    layers ``in_features, out_features``; batch norms ``num_features``; dropout layers ``p``
    (the probability of dropping a unit); every entry the
    number of parameters it owns (``params``).
    """
    leaves = {name: m for name, m in model.named_modules() if not any(True for _ in m.children())}
    order = list(leaves) if example_shape is None else _call_order(model, leaves, tuple(example_shape))
    return [_describe(name, leaves[name]) for name in order]


def _call_order(model: nn.Module, leaves: dict[str, nn.Module], example_shape: tuple[int, ...]) -> list[str]:
    """Names of the leaf modules in the order one eval-mode forward pass on zeros calls them."""
    order: list[str] = []
    hooks = [m.register_forward_hook(lambda _m, _i, _o, name=name: order.append(name)) for name, m in leaves.items()]
    modes = {m: m.training for m in model.modules()}
    first = next(iter(model.parameters()), None)
    example = torch.zeros(example_shape, device=first.device if first is not None else None,
                          dtype=first.dtype if first is not None and first.is_floating_point() else torch.float32)
    try:
        model.eval()
        with torch.no_grad():
            model(example)
    finally:
        for hook in hooks:
            hook.remove()
        for m, training in modes.items():
            m.training = training
    return order


def _describe(name: str, module: nn.Module) -> dict:
    row: dict[str, Any] = {
        "name": name,
        "type": type(module).__name__,
        "params": int(sum(p.numel() for p in module.parameters(recurse=False))),
    }
    if isinstance(module, nn.modules.conv._ConvNd):
        row.update(
            in_channels=int(module.in_channels),
            out_channels=int(module.out_channels),
            kernel_size=[int(k) for k in module.kernel_size],
            stride=[int(s) for s in module.stride],
            padding=module.padding if isinstance(module.padding, str) else [int(p) for p in module.padding],
        )
    elif isinstance(module, nn.Linear):
        row.update(in_features=int(module.in_features), out_features=int(module.out_features))
    elif isinstance(module, nn.modules.batchnorm._BatchNorm):
        row.update(num_features=int(module.num_features))
    elif isinstance(module, nn.modules.dropout._DropoutNd):
        row.update(p=float(module.p))
    return row


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    t = t.detach()
    if t.dtype in (torch.bfloat16, torch.float16):
        t = t.float()
    return t.cpu().contiguous().numpy().copy()


def state_arrays(model: nn.Module) -> dict[str, np.ndarray]:
    """``model.state_dict()`` as numpy arrays (parameters and buffers such as BN running stats)."""
    return {k: _to_numpy(v) for k, v in model.state_dict().items()}


def parameter_arrays(model: nn.Module) -> dict[str, np.ndarray]:
    """The parameters only (``model.named_parameters()``) as numpy arrays."""
    return {k: _to_numpy(v) for k, v in model.named_parameters()}


def parameter_shapes(model: nn.Module) -> dict[str, list[int]]:
    """The shape of every parameter (cheap to send around, unlike the values)."""
    return {k: [int(n) for n in v.shape] for k, v in model.named_parameters()}


def buffer_arrays(model: nn.Module) -> dict[str, np.ndarray]:
    """The buffers only (BN running mean/var, batch counters) as numpy arrays."""
    return {k: _to_numpy(v) for k, v in model.named_buffers()}


def load_state_arrays(model: nn.Module, arrays: dict[str, np.ndarray], strict: bool = True) -> None:
    """Copy numpy arrays into the model's parameters/buffers of the same names (in place)."""
    own = model.state_dict()
    tensors = {}
    for key, value in arrays.items():
        if key in own:
            tensors[key] = torch.as_tensor(np.asarray(value)).to(dtype=own[key].dtype)
        else:
            tensors[key] = torch.as_tensor(np.asarray(value))
    model.load_state_dict(tensors, strict=strict)


def is_training(model: nn.Module) -> bool:
    """``model.training`` as a plain bool."""
    return bool(model.training)


def optimizer_lr(optimizer: torch.optim.Optimizer) -> float:
    """The learning rate of the optimizer's first parameter group."""
    return float(optimizer.param_groups[0]["lr"])


# --------------------------------------------------------------------------- numpy adapters
def _as_tensor(value: Any, device: torch.device | None) -> Any:
    if isinstance(value, np.ndarray):
        t = torch.from_numpy(np.array(value, copy=True))
        return t.to(device) if device is not None else t
    if isinstance(value, tuple):
        return tuple(_as_tensor(v, device) for v in value)
    if isinstance(value, list):
        return [_as_tensor(v, device) for v in value]
    if isinstance(value, dict):
        return {k: _as_tensor(v, device) for k, v in value.items()}
    return value


def _as_numpy(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return _to_numpy(value)
    if isinstance(value, tuple):
        return tuple(_as_numpy(v) for v in value)
    if isinstance(value, list):
        return [_as_numpy(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_numpy(v) for k, v in value.items()}
    return value


def numpy_call(fn, *args, device: str | None = None, **kwargs):
    """Call ``fn`` with every numpy array argument turned into a tensor; tensors in the result come back as numpy.

    Example: ``numpy_call(to_grayscale, images_uint8)`` returns a numpy array.
    """
    dev = torch.device(device) if device is not None else None
    return _as_numpy(fn(*_as_tensor(args, dev), **_as_tensor(kwargs, dev)))


def forward_numpy(model: nn.Module, x: np.ndarray, train: bool = False, device: str = "cpu") -> np.ndarray:
    """Scores of ``model`` for the numpy batch ``x`` (no gradients).

    The model runs in eval mode unless ``train=True``; its previous mode is restored afterwards.
    """
    was_training = model.training
    model.train(train)
    try:
        with torch.no_grad():
            out = model(torch.as_tensor(np.asarray(x)).to(device))
    finally:
        model.train(was_training)
    return _to_numpy(out)


class TensorBatches:
    """A re-iterable sequence of ``(x, y)`` mini-batches cut from fixed tensors (no shuffling)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> None:
        if len(x) != len(y):
            raise ValueError(f"{len(x)} inputs but {len(y)} labels")
        self.x, self.y, self.batch_size = x, y, int(batch_size)

    def __len__(self) -> int:
        return (len(self.x) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for start in range(0, len(self.x), self.batch_size):
            yield self.x[start : start + self.batch_size], self.y[start : start + self.batch_size]


def tensor_batches(x: np.ndarray, y: np.ndarray, batch_size: int = 64, device: str = "cpu") -> TensorBatches:
    """Mini-batches (in order, last one possibly smaller) from numpy images ``x`` and integer labels ``y``."""
    xt = torch.as_tensor(np.array(x, copy=True)).to(device)
    yt = torch.as_tensor(np.asarray(y, dtype=np.int64)).to(device)
    return TensorBatches(xt, yt, batch_size)


# --------------------------------------------------------------------------- autograd bookkeeping
def record_grad_mode(model: nn.Module) -> None:
    """Remember, at every forward pass of ``model`` from now on, whether autograd was recording."""
    log: list[bool] = []

    def hook(_module, _inputs, _output):
        log.append(bool(torch.is_grad_enabled()))

    model._mlplab_grad_log = log  # type: ignore[attr-defined]
    model.register_forward_hook(hook)


def grad_mode_log(model: nn.Module) -> list[bool]:
    """What :func:`record_grad_mode` saw, one bool per forward pass."""
    return list(getattr(model, "_mlplab_grad_log", []))


# --------------------------------------------------------------------------- host synchronisations
# Tensor methods that make the host wait for the device on a GPU (on a cpu they wait for nothing,
# but they are counted all the same, so the rule can be checked without a GPU).
_SYNCING = ("item", "tolist", "numpy", "cpu", "__float__", "__int__", "__bool__", "__index__", "__repr__",
            "__format__")


class _CountedBatches:
    """Wraps ``batches``: the batch loop is the time between the first request and the end."""

    def __init__(self, batches: Any, state: dict) -> None:
        self.batches, self.state = batches, state

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[Any]:
        self.state["in_loop"] = True
        try:
            for batch in self.batches:
                self.state["batches"] += 1
                yield batch
        finally:
            self.state["in_loop"] = False


def count_host_syncs(fn: Any, model: nn.Module, batches: Any, *args: Any, **kwargs: Any) -> dict:
    """Run ``fn(model, batches, *args, **kwargs)`` and count its host synchronisations.

    Returns ``{"inside": int, "outside": int, "batches": int, "first_inside": str}``: the calls of
    ``.item()``, ``float()``, ``int()``, ``bool()``/``if tensor``, ``.tolist()``, ``.numpy()``,
    ``.cpu()`` and printing a tensor made while the batches were being iterated (``inside``) and
    before or after (``outside``); ``first_inside`` names the first one inside the loop.
    """
    state = {"in_loop": False, "batches": 0, "inside": 0, "outside": 0, "first_inside": "", "depth": 0}
    saved = {name: torch.Tensor.__dict__.get(name) for name in _SYNCING}

    def counting(name: str, original: Any) -> Any:
        def method(self, *a: Any, **k: Any) -> Any:
            if state["depth"] == 0:
                if state["in_loop"]:
                    state["inside"] += 1
                    state["first_inside"] = state["first_inside"] or name.strip("_")
                else:
                    state["outside"] += 1
            state["depth"] += 1
            try:
                return original(self, *a, **k)
            finally:
                state["depth"] -= 1

        return method

    for name in _SYNCING:
        setattr(torch.Tensor, name, counting(name, getattr(torch.Tensor, name)))
    try:
        fn(model, _CountedBatches(batches, state), *args, **kwargs)
    finally:
        for name, original in saved.items():
            if original is None:
                delattr(torch.Tensor, name)
            else:
                setattr(torch.Tensor, name, original)
    return {key: state[key] for key in ("inside", "outside", "batches", "first_inside")}


# --------------------------------------------------------------------------- what a loop does with its batches
def layer_shapes(model: nn.Module, example_shape: tuple[int, ...]) -> list[dict]:
    """One dict per leaf-module *call* of an eval-mode forward pass on zeros of ``example_shape``:
    ``{"name", "type", "in_shape", "out_shape"}`` (shapes as lists of ints), in call order.

    Example: the spatial size of every feature map, ``[r["out_shape"][2:] for r in layer_shapes(cnn, (1, 3, 32, 32))]``.
    """
    rows: list[dict] = []

    def hook(module, inputs, output, name):
        first = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
        rows.append({"name": name, "type": type(module).__name__,
                     "in_shape": [int(n) for n in first.shape] if first is not None else [],
                     "out_shape": [int(n) for n in output.shape] if isinstance(output, torch.Tensor) else []})

    leaves = {name: m for name, m in model.named_modules() if not any(True for _ in m.children())}
    hooks = [m.register_forward_hook(lambda mod, i, o, name=name: hook(mod, i, o, name)) for name, m in leaves.items()]
    modes = {m: m.training for m in model.modules()}
    first_param = next(iter(model.parameters()), None)
    example = torch.zeros(tuple(example_shape), device=first_param.device if first_param is not None else None)
    try:
        model.eval()
        with torch.no_grad():
            model(example)
    finally:
        for h in hooks:
            h.remove()
        for m, training in modes.items():
            m.training = training
    return rows


class OnceBatches:
    """``batches`` seen as a stream: it can be iterated only ONCE (a second ``iter()`` raises), like a
    generator or a data loader that reads from disk. ``len()`` still works. ``passes`` counts the
    attempts to iterate and ``drawn`` the batches handed out."""

    def __init__(self, batches: Any, events: list | None = None) -> None:
        self.batches, self.passes, self.drawn = batches, 0, 0
        self.events = events if events is not None else []

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[Any]:
        self.passes += 1
        if self.passes > 1:
            raise RuntimeError("these batches can be iterated only once (like a stream): loop over them once, "
                               "computing everything you need in that one loop")
        return self._walk()

    def _walk(self) -> Iterator[Any]:
        for batch in self.batches:
            self.drawn += 1
            self.events.append("B")
            yield batch


def once_batches(batches: Any) -> OnceBatches:
    """A view of ``batches`` that can be iterated only once (see :class:`OnceBatches`)."""
    return OnceBatches(batches)


def loop_events(fn: Any, model: nn.Module, batches: Any, optimizer: torch.optim.Optimizer | None = None,
                *args: Any, **kwargs: Any) -> dict:
    """Run ``fn(model, once, optimizer, *args, **kwargs)`` (or ``fn(model, once, *args, **kwargs)`` without an
    optimiser) on a one-shot view ``once`` of ``batches`` and report what happened, in order.

    Returns ``{"events": str, "passes": int, "batches": int, "error": str, "result": ...}``: ``events`` has a
    ``"B"`` for each batch drawn and an ``"S"`` for each ``optimizer.step()``, so one step per batch reads
    ``"BSBSBS"``; ``passes`` counts the attempts to iterate over the batches; ``error`` is the message of an
    exception ``fn`` raised (then ``result`` is None).
    """
    events: list[str] = []
    once = OnceBatches(batches, events)
    handle = None
    if optimizer is not None:
        handle = optimizer.register_step_post_hook(lambda *_: events.append("S"))
    result, error = None, ""
    try:
        result = fn(model, once, optimizer, *args, **kwargs) if optimizer is not None else fn(model, once, *args,
                                                                                                  **kwargs)
    except Exception as exc:  # reported to the caller, which says what went wrong
        error = f"{type(exc).__name__}: {exc}"
    finally:
        if handle is not None:
            handle.remove()
    return {"events": "".join(events), "passes": once.passes, "batches": once.drawn, "error": error,
            "result": result if isinstance(result, dict) else None}
