"""The CIFAR-10 engine of notebook 05 (``labutils.cifar_gpu``) and its GPU fast paths, run on the cpu.

No GPU is needed: PyTorch runs bf16 autocast, channels_last, the fused SGD kernel and
``torch.compile`` (inductor, C++ backend) on the cpu too, so these tests execute the code paths
the notebook uses on a GPU. The notebook's reference functions come from its solution cells
(``benchmarks/bench_gpu.notebook_functions``). Small generated data, a few seconds each, except
the compile test (about 20-30 s the first time on 2 cores; inductor's cache makes reruns fast).
"""

from __future__ import annotations

import copy
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_gpu  # noqa: E402  (puts source/mlp on sys.path)
from bench_gpu import HostSyncCounter, notebook_functions  # noqa: E402
from labutils import cifar_gpu  # noqa: E402
from labutils.cifar_gpu import (  # noqa: E402
    DeviceDataset,
    LabConfig,
    lab_config,
    make_optimizer,
    make_scheduler,
    random_crop_flip,
    run_experiment,
    synthetic_cifar,
)
from labutils.torch_utils import cpu_threads  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _free_cores_only():
    """Use only the cores that are free (as the notebook does): spinning threads on busy cores are many times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(cpu_threads())
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def ns() -> dict:
    """The notebook's reference functions (its solution cells and imports)."""
    return notebook_functions()


def _datasets(n_train: int, n_test: int, seed: int, channels_last: bool = True) -> dict:
    x_train, y_train, x_test, y_test = synthetic_cifar(n_train, n_test, seed=seed)
    train = DeviceDataset(x_train, y_train, "cpu", channels_last=channels_last)
    test = DeviceDataset(x_test, y_test, "cpu", stats_from=train, channels_last=channels_last)
    return {"train": train, "val": test, "test": test}


# --------------------------------------------------------------------------- augmentation
def _per_image_crop_flip(x: torch.Tensor, pad: int, generator: torch.Generator) -> torch.Tensor:
    """The obvious version: the same random draws, then pad / crop / flip one image at a time."""
    n, _, h, w = x.shape
    oy = torch.randint(0, 2 * pad + 1, (n, 1), generator=generator)
    ox = torch.randint(0, 2 * pad + 1, (n, 1), generator=generator)
    flip = torch.rand((n, 1), generator=generator) < 0.5
    out = []
    for i in range(n):
        padded = F.pad(x[i], (pad, pad, pad, pad))
        crop = padded[:, int(oy[i]):int(oy[i]) + h, int(ox[i]):int(ox[i]) + w]
        out.append(crop.flip(-1) if bool(flip[i]) else crop)
    return torch.stack(out)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_random_crop_flip_matches_a_per_image_loop(dtype):
    seed = 11
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.integers(1, 256, size=(48, 3, 32, 32))).to(dtype)  # no zero pixels
    batched = random_crop_flip(x, 4, torch.Generator().manual_seed(seed))
    looped = _per_image_crop_flip(x, 4, torch.Generator().manual_seed(seed))
    assert batched.shape == x.shape
    assert batched.dtype == dtype
    assert batched.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(batched, looped)
    # independent of the draw order: every output is a zero-padded 4-pixel shift of its own input, flipped or not
    padded = F.pad(x, (4, 4, 4, 4))
    shifts = set()
    for i in range(len(x)):
        found = [(dy, dx, f) for dy in range(9) for dx in range(9) for f in (False, True)
                 if torch.equal(batched[i], (lambda c: c.flip(-1) if f else c)(padded[i, :, dy:dy + 32, dx:dx + 32]))]
        assert len(found) == 1, f"image {i} is not a single shift/flip of its input"
        shifts.add(found[0])
    flips = sum(f for _, _, f in shifts)
    assert 8 <= flips <= 40, "about half of the images should be flipped"
    assert len({(dy, dx) for dy, dx, _ in shifts}) > 20, "the offsets should vary"


def test_random_crop_flip_keeps_one_channel_images():
    x = torch.randint(0, 256, (5, 1, 32, 32), dtype=torch.uint8)
    out = random_crop_flip(x, 4, torch.Generator().manual_seed(3))
    assert out.shape == (5, 1, 32, 32) and out.dtype == torch.uint8
    assert torch.equal(out, _per_image_crop_flip(x, 4, torch.Generator().manual_seed(3)))


# --------------------------------------------------------------------------- data
def test_device_dataset_normalises_with_training_statistics():
    seed = 21
    x_train, y_train, x_test, y_test = synthetic_cifar(300, 100, seed=seed)
    train = DeviceDataset(x_train, y_train, "cpu")
    test = DeviceDataset(x_test, y_test, "cpu", stats_from=train)

    pixels = x_train.transpose(1, 0, 2, 3).reshape(3, -1).astype(np.float64) / 255
    np.testing.assert_allclose(train.mean.numpy(), pixels.mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(train.std.numpy(), pixels.std(axis=1, ddof=1), rtol=1e-4)
    assert torch.equal(test.mean, train.mean) and torch.equal(test.std, train.std)
    own = DeviceDataset(x_test, y_test, "cpu")
    assert not torch.allclose(own.mean, train.mean), "the test set's own statistics differ (else this proves nothing)"

    mean, std = pixels.mean(axis=1)[None, :, None, None], pixels.std(axis=1, ddof=1)[None, :, None, None]
    xs, ys = zip(*test.batches(64), strict=True)
    assert all(x.dtype == torch.float32 and x.is_contiguous(memory_format=torch.channels_last) for x in xs)
    assert [len(x) for x in xs] == [64, 36]
    np.testing.assert_allclose(torch.cat(xs).numpy(), (x_test / 255 - mean) / std, atol=1e-5)
    assert torch.equal(torch.cat(ys), torch.as_tensor(y_test))

    whole = torch.cat([x for x, _ in train.batches(128)])
    np.testing.assert_allclose(whole.mean(dim=(0, 2, 3)).numpy(), 0, atol=1e-4)
    np.testing.assert_allclose(whole.std(dim=(0, 2, 3)).numpy(), 1, atol=1e-3)

    loader = train.loader(128, shuffle=True, augment=True, generator=torch.Generator().manual_seed(seed),
                          drop_last=True)
    labels = torch.cat([y for _, y in loader])
    assert len(loader) == 2 and len(labels) == 256
    assert not torch.equal(labels, train.y[:256]), "shuffled"
    assert set(labels.tolist()) <= set(y_train.tolist())


# --------------------------------------------------------------------------- optimisation
@pytest.mark.parametrize(("epochs", "first_decay", "second_decay"), [(100, 50, 75), (8, 4, 6), (4, 2, 3), (3, 1, 2)])
def test_scheduler_decays_at_half_and_three_quarters(epochs, first_decay, second_decay):
    model = torch.nn.Linear(2, 2)
    opt = make_optimizer(model, lr=0.1)
    sched = make_scheduler(opt, epochs)
    lrs = []
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    expected = [0.1 * 0.1 ** ((e >= first_decay) + (e >= second_decay)) for e in range(epochs)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)


def test_make_optimizer_uses_the_fused_kernel_on_cpu_only_when_asked():
    model = torch.nn.Linear(3, 2)
    assert not make_optimizer(model).defaults.get("fused"), "default on cpu: not fused (unchanged)"
    assert make_optimizer(model, fused=True).defaults["fused"] is True
    assert not make_optimizer(model, fused=False).defaults.get("fused")


def test_lab_config_turns_fast_paths_on_for_cpu_only_when_asked(monkeypatch):
    monkeypatch.setenv("MLPLAB_THREADS", str(torch.get_num_threads()))  # lab_config sets the thread count
    for name in ("MLPLAB_AMP", "MLPLAB_COMPILE", "MLPLAB_FUSED"):
        monkeypatch.delenv(name, raising=False)
    cfg = lab_config("cpu")
    assert (cfg.amp, cfg.compile, cfg.fused, cfg.amp_dtype) == (False, False, None, None)
    monkeypatch.setenv("MLPLAB_AMP", "1")
    monkeypatch.setenv("MLPLAB_COMPILE", "1")
    monkeypatch.setenv("MLPLAB_FUSED", "1")
    cfg = lab_config("cpu")
    assert (cfg.amp, cfg.compile, cfg.fused, cfg.amp_dtype) == (True, True, True, torch.bfloat16)
    monkeypatch.setenv("MLPLAB_AMP", "0")
    assert lab_config("cpu").amp is False


# --------------------------------------------------------------------------- host synchronisations
def _sync_epoch(train_one_epoch, ns, n_batches: int, seed: int) -> HostSyncCounter:
    """One epoch of the reference MLP on the engine's shuffled, augmented batches, bf16 + fused SGD."""
    data = _datasets(32 * n_batches, 1, seed=seed)
    torch.manual_seed(seed)
    model = ns["init_weights"](ns["build_mlp"](3))
    opt = make_optimizer(model, lr=0.05, fused=True)
    sched = make_scheduler(opt, 4)
    loader = data["train"].loader(32, shuffle=True, augment=True, generator=torch.Generator().manual_seed(seed),
                                  drop_last=True)
    with HostSyncCounter() as counter:
        stats = train_one_epoch(model, counter.wrap(loader), opt, "cpu", sched, torch.bfloat16)
    assert math.isfinite(stats["loss"])
    return counter


def test_train_one_epoch_syncs_with_the_host_only_after_its_last_batch(ns):
    counts = {}
    for n_batches in (2, 5):
        counter = _sync_epoch(ns["train_one_epoch"], ns, n_batches, seed=31)
        assert counter.batches == n_batches
        assert counter.inside == 0, f"host syncs inside the batch loop: {counter.events}"
        counts[n_batches] = counter.outside
    # the reference converts the summed loss and the correct count once each, whatever the number of batches
    assert counts[2] == counts[5] and 1 <= counts[5] <= 2, counts


def test_evaluate_syncs_with_the_host_only_after_its_last_batch(ns):
    data = _datasets(160, 1, seed=32)
    model = ns["init_weights"](ns["build_cnn"](3)).to(memory_format=torch.channels_last)
    with HostSyncCounter() as counter:
        stats = ns["evaluate"](model, counter.wrap(data["train"].loader(32)), "cpu", torch.bfloat16)
    assert counter.batches == 5
    assert counter.inside == 0 and 1 <= counter.outside <= 2, counter.events
    assert abs(stats["loss"] - math.log(10)) < 0.1


def _per_batch_sync_epoch(how: str):
    """A train_one_epoch that waits for the device once per batch, in the way ``how``."""

    def train_one_epoch(model, batches, optimizer, device, scheduler=None, amp_dtype=None):
        model.train()
        total = 0.0
        for x, y in batches:
            with torch.autocast(device_type="cpu", dtype=amp_dtype, enabled=amp_dtype is not None):
                loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            value = loss.detach()
            if how == "item":
                total += value.item()
            elif how == "float":
                total += float(value)
            elif how == "tolist":
                total += value.tolist()
            elif how == "numpy":
                total += float(value.cpu().numpy())
            elif how == "if":
                if value > 1e6:
                    break
            elif how == "mask":
                total += len(y[y > 4])
            elif how == "allclose":
                total += torch.allclose(value, value)
        if scheduler is not None:
            scheduler.step()
        return {"loss": 1.0, "accuracy": 0.0}

    return train_one_epoch


@pytest.mark.parametrize("how", ["item", "float", "tolist", "numpy", "if", "mask", "allclose"])
def test_sync_counter_catches_a_per_batch_sync(ns, how):
    counter = _sync_epoch(_per_batch_sync_epoch(how), ns, 3, seed=33)
    assert counter.batches == 3
    assert counter.inside >= 3, f"{how}: counted {counter.inside} syncs inside the loop"
    assert not {"item", "tolist", "cpu", "__bool__"} & set(torch.Tensor.__dict__), "patched methods restored"


# --------------------------------------------------------------------------- the fast paths, on the cpu
@pytest.mark.slow
def test_fast_path_trains_on_cpu_with_bf16_channels_last_fused_sgd(ns, monkeypatch):
    seed = 41
    made = []

    def spy_optimizer(*args, **kwargs):
        made.append(make_optimizer(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(cifar_gpu, "make_optimizer", spy_optimizer)
    seen = []

    def build_cnn():
        model = ns["build_cnn"](3)
        first = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
        first.register_forward_hook(lambda mod, inp, out: seen.append(
            (out.dtype, inp[0].is_contiguous(memory_format=torch.channels_last), mod.training)))
        return model

    cfg = LabConfig(device="cpu", epochs=2, batch_size=64, amp=True, fused=True, channels_last=True, seed=seed)
    cnn = run_experiment("CNN", build_cnn, ns["init_weights"], ns["train_one_epoch"], ns["evaluate"],
                         _datasets(384, 128, seed=seed), cfg, log=lambda s: None)
    assert made and made[-1].defaults["fused"] is True
    assert all(math.isfinite(v) for v in cnn["train_loss"] + cnn["val_loss"] + [cnn["test_loss"]])
    assert cnn["train_loss"][-1] < cnn["train_loss"][0]
    train_calls = [s for s in seen if s[2]]
    assert train_calls and all(dtype == torch.bfloat16 and cl for dtype, cl, _ in train_calls), set(train_calls)
    assert all(p.dtype == torch.float32 for p in cnn["model"].parameters()), "master weights stay float32"
    convs = [m.weight for m in cnn["model"].modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)
    assert cnn["lr"] == pytest.approx([0.1, 0.01])

    cfg = LabConfig(device="cpu", epochs=3, batch_size=64, amp=True, fused=True, seed=seed)
    mlp = run_experiment("MLP", lambda: ns["build_mlp"](3), ns["init_weights"], ns["train_one_epoch"],
                         ns["evaluate"], _datasets(1536, 400, seed=seed), cfg, log=lambda s: None)
    assert all(math.isfinite(v) for v in mlp["train_loss"])
    assert mlp["train_loss"][-1] < mlp["train_loss"][0] - 0.3
    assert mlp["test_acc"] > 0.3, f"chance is 0.1; got {mlp['test_acc']}"


@pytest.mark.slow
def test_compiled_model_matches_eager(ns):
    """torch.compile (inductor, C++ on the cpu) of the reference MLP: same scores, loss, gradients and step
    in float32, and close bf16 scores under autocast in evaluation mode.

    The MLP, not the CNN: compiling the CNN's training and evaluation graphs takes about 50 s on
    2 cpu cores with a cold cache, the MLP about 20-30 s. ``fallback_random`` makes the compiled
    dropout draw the same numbers as eager.
    """
    import torch._inductor.config as inductor_config  # noqa: PLC0415

    seed = 51
    torch.manual_seed(seed)
    eager = ns["init_weights"](ns["build_mlp"](3))
    twin = copy.deepcopy(eager)
    initial = copy.deepcopy(eager.state_dict())
    compiled = torch.compile(twin)
    x = torch.randn(32, 3, 32, 32)
    y = torch.randint(0, 10, (32,))

    def step(runner, params_of):
        opt = make_optimizer(params_of, lr=0.1, fused=True)
        runner.train()
        torch.manual_seed(seed + 1)
        scores = runner(x)
        loss = F.cross_entropy(scores, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grads = [p.grad.clone() for p in params_of.parameters()]
        opt.step()
        return scores.detach(), loss.detach(), grads

    with inductor_config.patch(fallback_random=True):
        results_c = step(compiled, twin)
    results_e = step(eager, eager)
    for name, c, e in zip(("train scores", "loss"), results_c[:2], results_e[:2], strict=True):
        torch.testing.assert_close(c, e, rtol=1e-4, atol=1e-5, msg=lambda m, n=name: f"{n}: {m}")
    for gc, ge in zip(results_c[2], results_e[2], strict=True):
        torch.testing.assert_close(gc, ge, rtol=1e-3, atol=1e-6)
    for (name, pc), pe in zip(twin.state_dict().items(), eager.state_dict().values(), strict=True):
        torch.testing.assert_close(pc, pe, rtol=1e-4, atol=1e-6, msg=lambda m, n=name: f"{n}: {m}")
    assert not torch.equal(initial["1.weight"], eager.state_dict()["1.weight"]), "the step changed the model"

    # the compiled evaluation (after the step) under bf16 autocast, as on a GPU: close to eager's
    compiled.eval()
    eager.eval()
    with torch.no_grad():
        fp32 = eager(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16_c, bf16_e = compiled(x), eager(x)
    assert bf16_c.dtype == bf16_e.dtype == torch.bfloat16
    torch.testing.assert_close(bf16_c.float(), bf16_e.float(), rtol=0.05, atol=0.02)
    torch.testing.assert_close(bf16_c.float(), fp32, rtol=0.05, atol=0.05)


def test_bench_check_host_syncs_runs_the_engine_setup(ns):
    data = _datasets(192, 64, seed=61)
    cfg = LabConfig(device="cpu", batch_size=64, amp=True, fused=True, seed=61)
    result = bench_gpu.check_host_syncs(ns, "cnn", data, cfg, warmup=False)
    assert result["batches"] == 3
    assert result["ok"] and result["inside_loop"] == 0, result
