"""Hidden graders of notebook 05 (PyTorch MLP vs CNN).

The models live in the student worker; they are driven through the value
adapters of ``labutils.torch_utils`` / ``labutils.cifar_gpu`` that the
notebook's setup cell imports (``state_arrays``, ``load_state_arrays``,
``forward_numpy``, ``numpy_call``, ``tensor_batches``, ``make_optimizer``...).
Those adapters run next to student code, so whatever they report is checked
here against trusted computations: the grader picks the initial weights and
the data itself, runs the reference (``ref``) on the same state in this
process and compares.

Fault isolation: ``init_weights``, ``train_one_epoch`` and ``evaluate`` run on
reference models (``build_mlp`` / ``build_cnn`` / ``init_weights`` swapped in,
see ``conftest.REFERENCE_PARTS``), so a wrong architecture costs points once.
All checks run on the CPU with ``device="cpu"`` in a few seconds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from checks import GradeFailure, as_array, expect

from mlplab.sandbox.student import StudentError

MLP_PARAMS = 3.9e6
MLP_HIDDEN = (1024, 512, 512)  # the docstring's hidden widths
CNN_PARAMS = 1.7e6
PARAM_TOL = 0.05
ADAPTERS = ("state_arrays", "parameter_arrays", "parameter_shapes", "buffer_arrays", "load_state_arrays",
            "forward_numpy", "numpy_call", "tensor_batches", "describe_layers", "manual_seed")


# --------------------------------------------------------------------------- helpers
@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models: one thread is fastest and immune to oversubscribed machines."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def need_setup(student, *names: str) -> None:
    """The provided setup cell imports the adapters; fail clearly if it was changed."""
    missing = [n for n in (names or ADAPTERS) if not student.has(n)]
    expect(not missing, "the provided setup cell was changed or removed (missing "
           + ", ".join(missing) + "): restore its imports")


def need_check_import(student, name: str, task: str) -> None:
    """Adapters imported by a provided visible-check cell (not by the setup cell)."""
    expect(student.has(name), f"the provided check cell before the grade cell of {task} was changed or removed "
           f"(missing {name}): restore its import")


def count_from_shapes(shapes: dict) -> int:
    expect(isinstance(shapes, dict), "could not read the model's parameters")
    return int(sum(math.prod(int(n) for n in shape) for shape in shapes.values()))


def weights_by_rank(shapes: dict, rank: int) -> list[tuple[str, list[int]]]:
    return [(k, list(v)) for k, v in shapes.items() if len(v) == rank]


def seed_of(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


def trusted_model(ref, builder: str, in_channels: int, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = getattr(ref, builder)(in_channels)
    ref.init_weights(model)
    return model


def randomise_for_eval(model: torch.nn.Module, rng: np.random.Generator) -> None:
    """Non-trivial BN statistics/affine parameters and larger linear weights (trusted side)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.as_tensor(rng.normal(0, 0.7, n)))
                m.running_var.copy_(torch.as_tensor(rng.uniform(0.3, 3.0, n)))
                m.weight.copy_(torch.as_tensor(rng.uniform(0.5, 1.5, n)))
                m.bias.copy_(torch.as_tensor(rng.normal(0, 0.3, n)))
            elif isinstance(m, torch.nn.Linear):
                m.weight.mul_(8.0)


def put_state(student, model_handle, state: dict) -> None:
    student.call("load_state_arrays", model_handle, state)


def images(rng, n, c, size=32, dtype=np.float32):
    return rng.normal(size=(n, c, size, size)).astype(dtype)


def norm_rel(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(1e-12, np.linalg.norm(a) + np.linalg.norm(b)))


def result_dict(what: str, value) -> tuple[float, float]:
    """Check the ``{"loss": float, "accuracy": float}`` result of ``what`` (messages name no function:
    the runner prefixes the task id)."""
    expect(isinstance(value, dict), f"return a dict with keys 'loss' and 'accuracy', got {type(value).__name__}")
    expect("loss" in value and "accuracy" in value, "return a dict with keys 'loss' and 'accuracy'")
    loss, acc = value["loss"], value["accuracy"]
    for key, v in (("loss", loss), ("accuracy", acc)):
        expect(isinstance(v, (int, float)) and not isinstance(v, bool),
               f"the returned '{key}' should be a plain Python float (use .item()), got {type(v).__name__}")
        expect(math.isfinite(float(v)), f"the returned '{key}' is NaN or inf")
    expect(0.0 <= float(acc) <= 1.0, f"the returned accuracy {float(acc):.3g} should be a fraction between 0 and 1")
    return float(loss), float(acc)


# --------------------------------------------------------------------------- build_mlp
@pytest.mark.task("build_mlp")
def test_build_mlp_parameter_count_matches_report(student):
    need_setup(student, "parameter_shapes")
    n = count_from_shapes(student.call("parameter_shapes", student.call("build_mlp", 3)))
    err = abs(n - MLP_PARAMS) / MLP_PARAMS
    expect(err < PARAM_TOL, f"build_mlp(3) has {n:,} parameters, {err:.0%} away from the report's 3.9 M "
           f"(needs < {PARAM_TOL:.0%}): check the hidden widths 1024, 512, 512")


@pytest.mark.task("build_mlp")
@pytest.mark.parametrize("channels", [3, 1])
def test_build_mlp_scores_have_shape_n_by_10(student, rng, channels):
    need_setup(student, "forward_numpy")
    model = student.call("build_mlp", channels)
    n = int(rng.integers(3, 9))
    out = student.call("forward_numpy", model, images(rng, n, channels))
    as_array(f"build_mlp({channels}) scores", out, (n, 10))
    expect(bool(np.all(np.isfinite(out))), f"build_mlp({channels}) scores contain NaN or inf")


@pytest.mark.task("build_mlp")
@pytest.mark.parametrize("channels", [3, 1])
def test_build_mlp_is_fully_connected_on_all_input_channels(student, channels):
    need_setup(student, "parameter_shapes", "describe_layers")
    model = student.call("build_mlp", channels)
    shapes = student.call("parameter_shapes", model)
    expect(not any(len(s) > 2 for s in shapes.values()),
           "build_mlp should use only fully connected layers (it has convolution weights)")
    linears = of_type(layer_rows(student, model, channels), "Linear")
    expect(len(linears) >= 2, "build_mlp should have several Linear layers")
    first = linears[0].get("in_features")
    expect(first == channels * 32 * 32,
           f"the first Linear layer of build_mlp({channels}) takes {first} inputs, expected "
           f"in_channels * 32 * 32 = {channels * 1024}: use in_channels")


@pytest.mark.task("build_mlp")
@pytest.mark.parametrize("layer", [1, 2, 3])
def test_build_mlp_hidden_layer_has_the_specified_width(student, layer):
    """One check per hidden layer: each width of 1024, 512, 512 is a separate part of the specification."""
    need_setup(student, "describe_layers")
    widths = [row.get("out_features") for row in of_type(layer_rows(student, student.call("build_mlp", 3)), "Linear")]
    want = MLP_HIDDEN[layer - 1]
    expect(len(widths) > layer, f"build_mlp(3) has {len(widths)} Linear layers; the specification has "
           f"{len(MLP_HIDDEN) + 1} (hidden widths {', '.join(map(str, MLP_HIDDEN))}, then the scores)")
    expect(widths[layer - 1] == want, f"hidden layer {layer} of build_mlp(3) has {widths[layer - 1]} units, "
           f"specified {want} (hidden widths {', '.join(map(str, MLP_HIDDEN))})")


# --------------------------------------------------------------------------- build_cnn
@pytest.mark.task("build_cnn")
@pytest.mark.parametrize("channels", [3, 1])
def test_build_cnn_parameter_count_matches_report(student, channels):
    need_setup(student, "parameter_shapes")
    n = count_from_shapes(student.call("parameter_shapes", student.call("build_cnn", channels)))
    err = abs(n - CNN_PARAMS) / CNN_PARAMS
    expect(err < PARAM_TOL, f"build_cnn({channels}) has {n:,} parameters, {err:.0%} away from the report's "
           f"1.7 M (needs < {PARAM_TOL:.0%}): check the channel plan 64, 64, 128, 128, 256, 256, 256")


@pytest.mark.task("build_cnn")
def test_build_cnn_uses_3x3_stride_1_convolutions_with_batchnorm(student):
    need_setup(student, "parameter_shapes", "describe_layers")
    model = student.call("build_cnn", 3)
    shapes = student.call("parameter_shapes", model)
    kernels = weights_by_rank(shapes, 4)
    expect(len(kernels) >= 4, f"build_cnn should stack several convolutions (found {len(kernels)})")
    expect(all(s[2:] == [3, 3] for _, s in kernels), "every convolution of build_cnn should use 3 x 3 kernels")
    layers = student.call("describe_layers", model)
    expect(isinstance(layers, list), "could not list the layers of the model")
    convs = [row for row in layers if isinstance(row, dict) and row.get("type") == "Conv2d"]
    expect(len(convs) == len(kernels), "build_cnn should use nn.Conv2d for its convolutions")
    expect(all(row.get("stride") == [1, 1] for row in convs), "every convolution should have stride 1 "
           "(downsample with max pooling)")
    bns = [row for row in layers if isinstance(row, dict) and row.get("type") == "BatchNorm2d"]
    expect(len(bns) >= len(convs), f"{len(convs)} convolutions but {len(bns)} BatchNorm2d layers: "
           "follow every convolution by batch normalisation")


@pytest.mark.task("build_cnn")
@pytest.mark.parametrize("channels", [3, 1])
def test_build_cnn_first_layer_has_64_filters(student, channels):
    need_setup(student, "describe_layers")
    convs = of_type(layer_rows(student, student.call("build_cnn", channels), channels), "Conv2d")
    expect(bool(convs), "build_cnn has no convolution")
    first = convs[0]
    expect(first.get("in_channels") == channels, f"the first convolution of build_cnn({channels}) expects "
           f"{first.get('in_channels')} input channels: use in_channels")
    expect(first.get("out_channels") == 64, f"the first convolution has {first.get('out_channels')} filters, "
           "expected 64")


@pytest.mark.task("build_cnn")
@pytest.mark.parametrize("channels", [3, 1])
def test_build_cnn_scores_have_shape_n_by_10(student, rng, channels):
    need_setup(student, "forward_numpy")
    model = student.call("build_cnn", channels)
    n = int(rng.integers(2, 5))
    out = student.call("forward_numpy", model, images(rng, n, channels))
    as_array(f"build_cnn({channels}) scores", out, (n, 10))
    expect(bool(np.all(np.isfinite(out))), f"build_cnn({channels}) scores contain NaN or inf")


# --------------------------------------------------------------------------- the specified layer sequence
def layer_rows(student, model, channels: int = 3) -> list[dict]:
    """The model's leaf layers in the order its forward pass calls them (a layer used twice appears twice),
    so a model that registers its layers in another order than it runs them is judged by what it computes.
    When that forward pass fails, the registration order (the scores checks report the failure)."""
    try:
        rows = student.call("describe_layers", model, [2, channels, 32, 32])
    except StudentError:
        rows = student.call("describe_layers", model)
    expect(isinstance(rows, list) and all(isinstance(r, dict) for r in rows), "could not list the model's layers")
    return rows


def in_call_order(state: dict, rows: list[dict]) -> dict:
    """``state`` (state_dict names -> arrays) reordered by the first call of the module owning each entry;
    entries of modules never called keep their order at the end."""
    first: dict[str, int] = {}
    for i, row in enumerate(rows):
        first.setdefault(str(row.get("name")), i)
    owner = {key: key.rsplit(".", 1)[0] if "." in key else "" for key in state}
    keys = sorted(state, key=lambda k: first.get(owner[k], len(rows)))  # stable: registration order within
    return {k: state[k] for k in keys}


def of_type(rows: list[dict], *types: str) -> list[dict]:
    return [r for r in rows if r.get("type") in types]


def structure_hints(rows: list[dict], expected: list[dict], builder: str) -> list[str]:
    """Why the student's layers differ from the specification (trusted ``expected`` rows)."""
    hints = []
    kinds = ("BatchNorm1d", "BatchNorm2d")
    got_bn, want_bn = len(of_type(rows, *kinds)), len(of_type(expected, *kinds))
    if got_bn != want_bn:
        hints.append(f"{got_bn} batch-norm layers, the specification has {want_bn} (one after every "
                     + ("hidden Linear layer" if builder == "build_mlp" else "convolution") + ")")
    got_lin = [r.get("out_features") for r in of_type(rows, "Linear")]
    want_lin = [r.get("out_features") for r in of_type(expected, "Linear")]
    if got_lin != want_lin:
        hints.append(f"Linear output widths {got_lin}, specified {want_lin}")
    got_conv = [r.get("out_channels") for r in of_type(rows, "Conv2d")]
    want_conv = [r.get("out_channels") for r in of_type(expected, "Conv2d")]
    if got_conv != want_conv:
        hints.append(f"convolution channels {got_conv}, specified {want_conv}")
    conv_bias = [r for r in of_type(rows, "Conv2d") if r.get("params", 0) > math.prod(
        [r.get("out_channels", 0), r.get("in_channels", 0), *r.get("kernel_size", [0])])]
    if conv_bias:
        hints.append(f"{len(conv_bias)} convolutions have a bias: use bias=False (the batch norm after each "
                     "convolution has its own shift)")
    return hints


def order_hints(rows: list[dict], expected: list[dict]) -> list[str]:
    """Why the same weights give other scores: pooling count, ReLU placed before the batch norm."""
    hints = []
    pools, want_pools = of_type(rows, "MaxPool2d", "AvgPool2d"), of_type(expected, "MaxPool2d")
    if len(pools) != len(want_pools) or any(r.get("type") != "MaxPool2d" for r in pools):
        hints.append(f"{len(pools)} pooling layers ({', '.join(r.get('type', '?') for r in pools) or 'none'}), "
                     f"specified {len(want_pools)} MaxPool2d(2)")
    types = [r.get("type") for r in rows]
    if any(t in ("BatchNorm1d", "BatchNorm2d") and i and types[i - 1] == "ReLU" for i, t in enumerate(types)):
        hints.append("a ReLU comes before a batch norm: the order is layer -> batch norm -> ReLU")
    return hints


def check_same_computation(student, ref, rng, builder: str, hint: str) -> None:
    """Load the same random weights and BN statistics into the student's and the reference model (in
    the order the forward passes call their layers) and compare eval-mode scores: the layer order and the
    pooling positions must match, however the layers are registered."""
    need_setup(student, "state_arrays", "load_state_arrays", "forward_numpy", "describe_layers")
    model = student.call(builder, 3)
    trusted = trusted_model(ref, builder, 3, seed_of(rng))
    randomise_for_eval(trusted, rng)
    with torch.no_grad():
        for m in trusted.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.weight.mul_(torch.as_tensor(rng.choice([-1.0, 1.0], m.num_features), dtype=m.weight.dtype))
    want_rows = ref.describe_layers(trusted, (2, 3, 32, 32))
    want = in_call_order(ref.state_arrays(trusted), want_rows)
    got = student.call("state_arrays", model)
    expect(isinstance(got, dict), "could not read the model's state")
    rows = layer_rows(student, model)
    got = in_call_order(got, rows)
    got_shapes = [list(np.shape(v)) or [1] for v in got.values()]  # counters travel as shape (1,)
    want_shapes = [list(np.shape(v)) or [1] for v in want.values()]
    if got_shapes != want_shapes:
        hints = structure_hints(rows, want_rows, builder)
        raise GradeFailure(f"{builder}(3) does not have the specified layers"
                           + (": " + "; ".join(hints) if hints else f" (parameter shapes in order differ): {hint}"))
    put_state(student, model, {k: np.reshape(v, np.shape(got[k])) for k, v in zip(got, want.values(), strict=True)})
    x = images(rng, 4, 3)
    scores = as_array(f"{builder}(3) scores", student.call("forward_numpy", model, x), (4, 10))
    with torch.no_grad():
        trusted.eval()
        expected = trusted(torch.as_tensor(x)).numpy()
    err = norm_rel(scores, expected)
    if err >= 1e-4:
        hints = order_hints(rows, want_rows)
        raise GradeFailure(f"with the same weights, {builder}(3) computes other scores than the specified layers "
                           f"(relative difference {err:.1e}, needs < 1e-04): " + ("; ".join(hints) or hint))


def dropout_slots(rows: list[dict]) -> list[int]:
    """For each Dropout call, how many layers with parameters (Linear, convolution, batch norm) run before it:
    where it sits in the computation. A Dropout and a ReLU next to each other commute, so their order is free."""
    slots, weighted = [], 0
    for row in rows:
        if row.get("type") == "Dropout":
            slots.append(weighted)
        elif int(row.get("params", 0) or 0) > 0:
            weighted += 1
    return slots


def place_hint(slot: int, expected: list[dict]) -> str:
    """Where a Dropout at ``slot`` sits, in the words of the specification (its trusted rows)."""
    weighted = [r for r in expected if int(r.get("params", 0) or 0) > 0]
    if slot == 0:
        return "before the first layer (on the input)"
    if slot >= len(weighted):
        return "after the last layer (on the scores)"
    before, after = weighted[slot - 1].get("type"), weighted[slot].get("type")
    return f"between a {before} and the next {after}"


def check_dropout_layers(student, ref, builder: str) -> None:
    """Exactly the specified nn.Dropout layers, with the specified p, each in its specified place in the call order."""
    need_setup(student, "describe_layers")
    rows = layer_rows(student, student.call(builder, 3))
    want_rows = ref.describe_layers(getattr(ref, builder)(3), (2, 3, 32, 32))
    ps = [r.get("p") for r in of_type(rows, "Dropout")]
    want_ps = [r.get("p") for r in of_type(want_rows, "Dropout")]
    if not want_ps:
        expect(not ps, f"{builder}(3) has {len(ps)} Dropout layers; the specified network has none (batch norm "
               "regularises it): remove them")
        return
    if ps != want_ps:
        if ps and all(isinstance(p, float) and abs(p - (1 - want_ps[0])) < 1e-9 for p in ps):
            raise GradeFailure(f"the Dropout layers have p = {ps[0]}: in PyTorch p is the probability of DROPPING "
                               f"a unit, so a keep ratio of {1 - want_ps[0]:.1f} is nn.Dropout({want_ps[0]})")
        raise GradeFailure(f"{len(ps)} Dropout layers with p = {ps}; the specification has {len(want_ps)} "
                           f"nn.Dropout({want_ps[0]}), one after every hidden layer's ReLU")
    slots, want_slots = dropout_slots(rows), dropout_slots(want_rows)
    for index, (slot, want_slot) in enumerate(zip(slots, want_slots, strict=True)):
        expect(slot == want_slot, f"Dropout layer {index + 1} of {builder}(3) runs {place_hint(slot, want_rows)}; "
               f"specified: {place_hint(want_slot, want_rows)} (Linear -> BatchNorm1d -> ReLU -> Dropout in every "
               "hidden layer, so batch norm sees all units and the scores are not dropped)")


def check_raw_scores(student, rng, builder: str, channels: int) -> None:
    """The network's output is raw scores (logits): no softmax, log-softmax or ReLU after the last Linear.
    Judged on the values (eval mode, the builder's own initialisation): scores of a fresh network on random
    images have both signs and their rows neither sum to 1 nor have a log-sum-exp of 0."""
    need_setup(student, "forward_numpy")
    model = student.call(builder, channels)
    out = as_array(f"{builder}({channels}) scores", student.call("forward_numpy", model, images(rng, 6, channels, 16
                   if builder == "build_cnn" else 32)), (6, 10)).astype(np.float64)
    expect(bool(np.all(np.isfinite(out))), f"{builder}({channels}) scores contain NaN or inf")
    hint = "return the last Linear layer's output as it is: F.cross_entropy applies log-softmax itself"
    rows_sum_to_one = bool(np.all(out >= 0)) and np.allclose(out.sum(axis=1), 1.0, atol=1e-4)
    expect(not rows_sum_to_one, f"the scores of {builder}({channels}) are probabilities (non-negative, each row sums "
           f"to 1): remove the softmax at the end; {hint}")
    lse = np.log(np.exp(out - out.max(axis=1, keepdims=True)).sum(axis=1)) + out.max(axis=1)
    expect(not (bool(np.all(out <= 0)) and np.allclose(lse, 0.0, atol=1e-4)),
           f"the scores of {builder}({channels}) are log-probabilities (each row's log-sum-exp is 0): remove the "
           f"log-softmax at the end; {hint}")
    expect(bool(np.any(out < 0)), f"no score of {builder}({channels}) is negative on random images: the output "
           f"layer is followed by a ReLU (or another clipping layer); {hint}")


@pytest.mark.task("build_mlp")
def test_build_mlp_follows_the_specified_layer_sequence(student, ref, rng):
    check_same_computation(student, ref, rng, "build_mlp",
                           "Flatten, Linear -> BatchNorm1d -> ReLU -> Dropout for hidden widths 1024, 512, 512, "
                           "then Linear")


@pytest.mark.task("build_mlp")
def test_build_mlp_dropout_layers(student, ref):
    check_dropout_layers(student, ref, "build_mlp")


@pytest.mark.task("build_mlp")
def test_build_mlp_outputs_raw_scores(student, rng):
    check_raw_scores(student, rng, "build_mlp", 1)


@pytest.mark.task("build_cnn")
def test_build_cnn_has_no_dropout(student, ref):
    check_dropout_layers(student, ref, "build_cnn")


@pytest.mark.task("build_cnn")
def test_build_cnn_outputs_raw_scores(student, rng):
    check_raw_scores(student, rng, "build_cnn", 1)


CNN_SIZES = [32, 32, 16, 16, 8, 8, 8]  # spatial size of each convolution's output for 32 x 32 images
POOLED = [16, 8, 4]  # after each MaxPool2d(2)


@pytest.mark.task("build_cnn")
def test_build_cnn_pooling_halves_the_feature_maps(student):
    """Feature-map sizes after each block, for 32 x 32 input: the convolutions keep the size (padding 1) and each
    of the three 2 x 2 max poolings halves it (32 -> 16 -> 8 -> 4)."""
    need_check_import(student, "layer_shapes", "build_cnn")
    rows = student.call("layer_shapes", student.call("build_cnn", 1), [2, 1, 32, 32])
    expect(isinstance(rows, list) and all(isinstance(r, dict) for r in rows), "could not list the model's layers")
    sizes = [list(r.get("out_shape", []))[2:] for r in rows if r.get("type") == "Conv2d"]
    expect(len(sizes) == len(CNN_SIZES), f"build_cnn(1) runs {len(sizes)} convolutions, specified {len(CNN_SIZES)}")
    got = [s[0] if len(s) == 2 and s[0] == s[1] else s for s in sizes]
    for index, (size, want) in enumerate(zip(got, CNN_SIZES, strict=True)):
        expect(size == want, f"convolution {index + 1} of build_cnn(1) outputs {size} x {size} feature maps for "
               f"32 x 32 images, specified {want} x {want} (sizes {', '.join(map(str, CNN_SIZES))}): padding 1 keeps "
               "the size, and each MaxPool2d(2) after convolutions 2, 4 and 7 halves it")
    pools = [list(r.get("out_shape", []))[2:] for r in rows if r.get("type") in ("MaxPool2d", "AvgPool2d")]
    if pools:  # pooling written as modules (functional pooling is judged by the scores)
        pooled = [p[0] if len(p) == 2 and p[0] == p[1] else p for p in pools]
        expect(pooled == POOLED, f"the pooling layers of build_cnn(1) output feature maps of size {pooled} for "
               f"32 x 32 images, specified {POOLED}: each MaxPool2d(2) (window 2, stride 2) halves the size")


@pytest.mark.task("build_cnn")
def test_build_cnn_follows_the_specified_layer_sequence(student, ref, rng):
    check_same_computation(student, ref, rng, "build_cnn",
                           "conv -> BatchNorm2d -> ReLU, MaxPool2d(2) after convolutions 2, 4 and 7, then global "
                           "average pooling, Flatten, Linear")


# --------------------------------------------------------------------------- init_weights
def initialised_parameters(student, rng, builder: str, channels: int) -> dict:
    """Build a reference model in the worker, fill it with junk, run the student's init_weights."""
    need_setup(student, "parameter_shapes", "parameter_arrays", "load_state_arrays", "manual_seed")
    model = student.call(builder, channels)
    shapes = student.call("parameter_shapes", model)
    junk = {k: np.full(s, 0.5 if len(s) > 1 else (3.0 if k.endswith("weight") else 0.7), dtype=np.float32)
            for k, s in shapes.items()}
    student.call("load_state_arrays", model, junk, False)
    student.call("manual_seed", seed_of(rng))
    student.call("init_weights", model)
    params = student.call("parameter_arrays", model)
    expect(isinstance(params, dict) and set(params) == set(shapes), "could not read the initialised parameters")
    return params


@pytest.mark.task("init_weights")
def test_init_weights_convolutions_he_normal_fan_out(student, rng):
    params = initialised_parameters(student, rng, "build_cnn", 3)
    kernels = [(k, as_array(k, v)) for k, v in params.items() if v.ndim == 4]
    expect(bool(kernels), "the model has no convolution weights")
    for index, (_, w) in enumerate(kernels):
        c_out, c_in, kh, kw = w.shape
        target = math.sqrt(2.0 / (c_out * kh * kw))
        std = float(w.std())
        if abs(std / target - 1) < 0.1:
            expect(abs(float(w.mean())) < 0.1 * target, f"convolution {index + 1}: weights should have mean 0")
            continue
        fan_in_std = math.sqrt(2.0 / (c_in * kh * kw))
        if abs(std / fan_in_std - 1) < 0.1:
            hint = "this is He initialisation with fan_in; use mode='fan_out'"
        elif np.allclose(w, 0.5):
            hint = "the convolution weights were not re-initialised"
        else:
            hint = "use nn.init.kaiming_normal_(w, mode='fan_out', nonlinearity='relu')"
        raise GradeFailure(f"convolution {index + 1} ({c_in}->{c_out}, {kh}x{kw}): weight std {std:.3g}, "
                           f"expected sqrt(2 / fan_out) = {target:.3g}: {hint}")


@pytest.mark.task("init_weights")
def test_init_weights_convolutions_are_gaussian(student, rng):
    params = initialised_parameters(student, rng, "build_cnn", 1)
    kernels = [np.asarray(v, np.float64) for v in params.values() if v.ndim == 4]
    z = np.concatenate([(w - w.mean()).ravel() / max(w.std(), 1e-12) for w in kernels])
    kurtosis = float(np.mean(z**4))
    expect(kurtosis > 2.5, f"the convolution weights look uniformly distributed (kurtosis {kurtosis:.2f}, "
           "a Gaussian has 3): use kaiming_normal_, not kaiming_uniform_")


@pytest.mark.task("init_weights")
@pytest.mark.parametrize("builder", ["build_mlp", "build_cnn"])
def test_init_weights_linear_layers_normal_0_01(student, rng, builder):
    params = initialised_parameters(student, rng, builder, 1)
    matrices = [(k, as_array(k, v)) for k, v in params.items() if v.ndim == 2]
    expect(bool(matrices), "the model has no linear layer")
    for index, (_, w) in enumerate(matrices):
        std = float(w.std())
        if abs(std / 0.01 - 1) < 0.1 and abs(float(w.mean())) < 0.002:
            continue
        if np.allclose(w, 0.5):
            hint = "the linear weights were not re-initialised"
        elif std > 0.02:
            hint = "linear layers use N(0, 0.01^2) (weight_scale 1e-2), He initialisation is for convolutions"
        else:
            hint = "use nn.init.normal_(w, 0.0, 0.01)"
        raise GradeFailure(f"linear layer {index + 1} of {builder}: weight std {std:.3g}, expected 0.01: {hint}")


@pytest.mark.task("init_weights")
@pytest.mark.parametrize("builder", ["build_mlp", "build_cnn"])
def test_init_weights_biases_zero_batchnorm_one(student, rng, builder):
    params = initialised_parameters(student, rng, builder, 1)
    for key, value in params.items():
        v = as_array(key, value)
        if v.ndim != 1:
            continue
        if key.endswith("bias"):
            expect(bool(np.all(v == 0)), f"{builder}: bias '{key}' should be 0 after init_weights "
                   "(linear, convolution and batch-norm beta)")
        elif key.endswith("weight"):
            expect(bool(np.all(v == 1)), f"{builder}: batch-norm weight (gamma) '{key}' should be 1")


def nested_model(student) -> tuple:
    """A model, built in the worker from torch.nn classes, with every specified kind at depth 1 to 3: in
    nested nn.Sequential, nn.ModuleList and nn.ModuleDict containers (names below)."""
    def make(cls: str, *args, **kwargs):
        return student.call(student.attr("nn", cls), *args, **kwargs)

    conv_a, conv_b = make("Conv2d", 6, 24, 3), make("Conv2d", 24, 32, 3, bias=False)
    inner = make("Sequential", make("BatchNorm2d", 24), make("ReLU"))
    block = make("Sequential", conv_a, inner)
    heads = make("ModuleList", [make("Linear", 64, 48), make("Sequential", make("BatchNorm1d", 48),
                                                              make("Linear", 48, 40))])
    parts = make("ModuleDict", {"convs": make("ModuleList", [block, conv_b]), "heads": heads,
                                "norm": make("BatchNorm2d", 32)})
    return make("Sequential", parts)


NESTED_KINDS = {  # state_dict prefix -> (kind, depth) of the nested model
    "0.convs.0.0": ("Conv2d", 4), "0.convs.0.1.0": ("BatchNorm2d", 5), "0.convs.1": ("Conv2d", 3),
    "0.heads.0": ("Linear", 3), "0.heads.1.0": ("BatchNorm1d", 4), "0.heads.1.1": ("Linear", 4),
    "0.norm": ("BatchNorm2d", 2),
}


@pytest.mark.task("init_weights")
def test_init_weights_reaches_every_layer_at_any_depth(student, rng):
    """Every Conv2d, Linear, BatchNorm1d and BatchNorm2d is initialised wherever it sits in the model."""
    need_setup(student, "parameter_shapes", "parameter_arrays", "load_state_arrays", "manual_seed")
    model = nested_model(student)
    shapes = student.call("parameter_shapes", model)
    expect(isinstance(shapes, dict), "could not read the model's parameters")
    junk = {k: np.full(s, 0.5 if len(s) > 1 else (3.0 if k.endswith("weight") else 0.7), dtype=np.float32)
            for k, s in shapes.items()}
    student.call("load_state_arrays", model, junk, False)
    student.call("manual_seed", seed_of(rng))
    student.call("init_weights", model)
    params = student.call("parameter_arrays", model)
    expect(isinstance(params, dict) and set(params) == set(shapes), "could not read the initialised parameters")
    missed = []
    for prefix, (kind, depth) in NESTED_KINDS.items():
        weight = np.asarray(params[prefix + ".weight"], np.float64)
        bias = params.get(prefix + ".bias")
        if kind == "Conv2d":
            target = math.sqrt(2.0 / (weight.shape[0] * weight.shape[2] * weight.shape[3]))
            ok = abs(float(weight.std()) / target - 1) < 0.15
        elif kind == "Linear":
            ok = abs(float(weight.std()) / 0.01 - 1) < 0.15
        else:
            ok = bool(np.all(weight == 1))
        ok = ok and (bias is None or bool(np.all(np.asarray(bias) == 0)))
        if not ok:
            missed.append(f"a {kind} at depth {depth - 1}")
    expect(not missed, f"did not initialise {', '.join(missed)} of a model with nested containers "
           "(nn.Sequential inside nn.Sequential, nn.ModuleList, nn.ModuleDict): loop over model.modules(), which "
           "visits every module at any depth (model.children() and iterating the model see only the top level), "
           "and handle nn.Conv2d, nn.Linear, nn.BatchNorm1d and nn.BatchNorm2d")


@pytest.mark.task("init_weights")
def test_init_weights_returns_the_same_model(student, rng):
    need_setup(student, "manual_seed")
    model = student.call("build_mlp", 1)
    student.call("manual_seed", seed_of(rng))
    returned = student.call("init_weights", model)
    expect(returned is not None, "returned None: end it with `return model` (the docstring's "
           "return value, so that `model = init_weights(build_cnn(3))` works)")
    mark = int(rng.integers(1, 2**30))
    student.set_attr(model, "_mlplab_mark", mark)
    try:
        same = student.attr(returned, "_mlplab_mark") == mark
    except StudentError:
        same = False
    expect(same, "should return the model it was given (the same object, initialised in place), "
           "not a copy or another object: `return model`")


# --------------------------------------------------------------------------- train_one_epoch
def train_setup(student, ref, rng, n=24, batch=8, lr=0.05, weight_decay=5e-4, size=16):
    """Same CNN state, data and optimiser in the worker and here."""
    need_setup(student, "state_arrays", "parameter_arrays", "buffer_arrays", "load_state_arrays",
               "tensor_batches", "make_optimizer")
    seed = seed_of(rng)
    trusted = trusted_model(ref, "build_cnn", 1, seed)
    state = ref.state_arrays(trusted)
    x = images(rng, n, 1, size=size)
    y = rng.integers(0, 10, size=n)
    model = student.call("build_cnn", 1)
    put_state(student, model, state)
    batches = student.call("tensor_batches", x, y, batch, "cpu")
    opt = student.call("make_optimizer", model, lr, 0.9, weight_decay)
    ref_batches = ref.tensor_batches(x, y, batch, "cpu")
    ref_opt = ref.make_optimizer(trusted, lr, 0.9, weight_decay)
    return model, batches, opt, trusted, ref_batches, ref_opt, state, (x, y)


@pytest.mark.task("train_one_epoch")
def test_train_one_epoch_updates_match_sgd_steps(student, ref, rng):
    model, batches, opt, trusted, ref_batches, ref_opt, start, _ = train_setup(student, ref, rng)
    student.method(model, "eval")  # e.g. left in eval mode by evaluate(): train_one_epoch must switch back
    student.call("train_one_epoch", model, batches, opt, "cpu")
    ref.train_one_epoch(trusted, ref_batches, ref_opt, "cpu")
    got = student.call("state_arrays", model)
    want = ref.state_arrays(trusted)
    expect(isinstance(got, dict) and set(got) == set(want), "could not read the trained model's state")
    moved = [k for k in want if k.endswith("weight") and not np.array_equal(got[k], start[k])]
    expect(bool(moved), "the parameters did not change: call optimizer.step() after loss.backward()")
    bn_stats = [k for k in want if k.endswith("running_mean")]
    if all(np.array_equal(got[k], start[k]) for k in bn_stats):
        raise GradeFailure("batch-norm running averages were not updated: call model.train() at the start "
                           "(the model may come from evaluate() in eval mode)")
    for key in want:
        if not np.issubdtype(want[key].dtype, np.floating):
            continue
        delta_got = got[key].astype(np.float64) - start[key]
        delta_want = want[key].astype(np.float64) - start[key]
        err = norm_rel(delta_got, delta_want)
        expect(err < 2e-3, f"the update of '{key}' differs from three SGD steps on the mean cross-entropy "
               f"(relative error {err:.1e}, needs < 2e-03): one optimizer.zero_grad(), loss.backward() and "
               "optimizer.step() per batch, loss = F.cross_entropy(scores, y), model in training mode")


@pytest.mark.task("train_one_epoch")
def test_train_one_epoch_returns_mean_loss_and_accuracy(student, ref, rng):
    model, batches, opt, trusted, ref_batches, ref_opt, start, _ = train_setup(student, ref, rng, n=21, batch=8)
    got = student.call("train_one_epoch", model, batches, opt, "cpu")
    loss, acc = result_dict("train_one_epoch", got)
    want = ref.train_one_epoch(trusted, ref_batches, ref_opt, "cpu")
    # the loss and accuracy of every batch after the first depend on the earlier updates: when those are
    # wrong, say so instead of blaming the bookkeeping
    state, want_state = student.call("state_arrays", model), ref.state_arrays(trusted)
    weights = [k for k in want_state if k.endswith("weight") and isinstance(state, dict) and k in state]
    update_err = max((norm_rel(np.asarray(state[k], np.float64) - start[k], want_state[k] - start[k])
                      for k in weights), default=0.0)
    expect(update_err < 2e-3, "the parameters after the epoch differ from one SGD step per batch (relative "
           f"error {update_err:.1e}), so the loss and accuracy of the later batches differ too: zero the "
           "gradients (optimizer.zero_grad()) before each loss.backward(), then one optimizer.step()")
    expect(abs(acc - want["accuracy"]) < 1e-6, "accuracy should be the fraction of training "
           "samples whose highest score is the label, counted before each update")
    err = abs(loss - want["loss"]) / max(1e-8, abs(want["loss"]))
    expect(err < 1e-4, f"loss relative error {err:.1e} (needs < 1e-04): average the batch "
           "losses weighted by batch size (the last batch is smaller), each computed before its update")


@pytest.mark.task("train_one_epoch")
def test_train_one_epoch_one_step_lowers_loss(student, ref, rng):
    model, batches, opt, trusted, _, _, start, (x, y) = train_setup(student, ref, rng, n=16, batch=16, lr=0.01,
                                                                     weight_decay=0.0)

    def trusted_loss(state, probabilities=False):
        ref.load_state_arrays(trusted, state)
        trusted.train()
        with torch.no_grad():
            scores = trusted(torch.as_tensor(x))
            return float(F.cross_entropy(scores.softmax(dim=1) if probabilities else scores, torch.as_tensor(y)))

    before = trusted_loss(start)
    on_probabilities = trusted_loss(start, probabilities=True)
    got = student.call("train_one_epoch", model, batches, opt, "cpu")
    loss, _ = result_dict("train_one_epoch", got)
    after = trusted_loss(student.call("state_arrays", model))
    expect(abs(loss - on_probabilities) > 1e-4 * on_probabilities, "the loss was computed on probabilities "
           "(softmax of the scores): pass the raw scores (logits) to F.cross_entropy, which applies log-softmax "
           "itself; on probabilities the loss hardly moves and its gradients are tiny")
    expect(abs(loss - before) <= 1e-4 * before, "the returned loss should be the loss of the "
           "batch before the update")
    expect(after < before - 1e-4, "one step of train_one_epoch on a fixed batch did not lower its loss: "
           "check the sign of the update (loss.backward(), then optimizer.step())")


@pytest.mark.task("train_one_epoch")
def test_train_one_epoch_one_optimizer_step_per_batch(student, ref, rng):
    """The loop draws each batch once and takes one optimiser step per batch, right after it: "BSBSBS"."""
    need_check_import(student, "loop_events", "train_one_epoch")
    model, batches, opt, *_ = train_setup(student, ref, rng, n=18, batch=6, size=8)
    report = student.call("loop_events", student.get("train_one_epoch"), model, batches, opt, "cpu")
    expect(isinstance(report, dict) and {"events", "passes", "batches", "error"} <= set(report),
           "could not follow the training loop")
    if int(report["passes"]) > 1:
        raise GradeFailure(f"iterated over the batches {report['passes']} times: loop over them "
                           "once (the engine's batches are reshuffled and augmented on every pass; a stream can "
                           "be read only once), computing the loss, the step and the statistics in that one loop")
    expect(not report["error"], f"failed on batches that can be iterated once: {report['error']}")
    events = str(report["events"])
    steps, drawn = events.count("S"), events.count("B")
    expect(drawn == 3, f"drew {drawn} of the 3 batches")
    expect(steps == drawn, f"took {steps} optimizer steps for {drawn} batches: call "
           "optimizer.step() once per batch, inside the loop (one step per epoch is plain gradient accumulation)")
    expect(events == "BS" * drawn, f"the optimizer steps do not follow their batches (batch B, step S: {events}): "
           "for each batch compute the loss, backward, then optimizer.step() before drawing the next batch")


@pytest.mark.task("train_one_epoch")
def test_train_one_epoch_steps_scheduler_once_per_epoch(student, ref, rng):
    need_setup(student, "make_scheduler", "optimizer_lr")
    model, batches, opt, *_ = train_setup(student, ref, rng, n=6, batch=3, lr=0.05, size=8)
    sched = student.call("make_scheduler", opt, 4)  # lr x 0.1 after epochs 2 and 3
    lrs = []
    for _ in range(3):
        student.call("train_one_epoch", model, batches, opt, "cpu", sched)
        lrs.append(student.call("optimizer_lr", opt))
    expected = [0.05, 0.005, 0.0005]
    if not all(abs(a - b) < 1e-9 for a, b in zip(lrs, expected, strict=True)):
        if lrs[0] < 0.05 - 1e-9:
            hint = "the scheduler was stepped more than once per epoch (call scheduler.step() after the loop)"
        elif abs(lrs[-1] - 0.05) < 1e-9:
            hint = "the scheduler was never stepped (call scheduler.step() once, after the loop)"
        else:
            hint = "call scheduler.step() exactly once per epoch"
        raise GradeFailure(f"learning-rate schedule wrong: {hint}")


# --------------------------------------------------------------------------- evaluate
def eval_setup(student, ref, rng, builder: str):
    need_setup(student, "state_arrays", "buffer_arrays", "load_state_arrays", "tensor_batches")
    seed = seed_of(rng)
    size = 32 if builder == "build_mlp" else 16
    trusted = trusted_model(ref, builder, 1, seed)
    randomise_for_eval(trusted, rng)
    n = 32 + int(rng.integers(2, 15))  # the last batch is smaller (but not a single sample)
    x = images(rng, n, 1, size=size)
    y = rng.integers(0, 10, size=n)
    model = student.call(builder, 1)
    put_state(student, model, ref.state_arrays(trusted))
    student.method(model, "train")  # evaluate must switch to eval mode itself
    batches = student.call("tensor_batches", x, y, 16, "cpu")
    return model, batches, trusted, x, y


def trusted_scores(model, x, train: bool):
    model.train(train)
    torch.manual_seed(0)
    with torch.no_grad():
        out = model(torch.as_tensor(x))
    model.eval()
    return out


@pytest.mark.task("evaluate")
@pytest.mark.parametrize("builder", ["build_mlp", "build_cnn"])
def test_evaluate_matches_eval_mode_loss_and_accuracy(student, ref, rng, builder):
    model, batches, trusted, x, y = eval_setup(student, ref, rng, builder)
    loss, acc = result_dict("evaluate", student.call("evaluate", model, batches, "cpu"))
    scores = trusted_scores(trusted, x, train=False)
    labels = torch.as_tensor(y)
    want_loss = float(F.cross_entropy(scores, labels))
    want_acc = float((scores.argmax(1) == labels).double().mean())
    err = abs(loss - want_loss) / want_loss
    if err >= 1e-4 or abs(acc - want_acc) > 1e-6:
        batch_means = [float(F.cross_entropy(scores[i:i + 16], labels[i:i + 16])) for i in range(0, len(y), 16)]
        on_probabilities = float(F.cross_entropy(scores.softmax(dim=1), labels))
        if abs(loss - float(np.mean(batch_means))) < 1e-5 * want_loss:
            hint = "weight each batch by its size: the last batch is smaller"
        elif abs(loss - on_probabilities) < 1e-4 * on_probabilities:
            hint = ("the loss was computed on probabilities: pass the raw scores (logits) to F.cross_entropy, "
                    "which applies log-softmax itself")
        else:
            hint = "call model.eval() first (dropout off, batch norm with running averages)"
        raise GradeFailure(f"loss relative error {err:.1e} (needs < 1e-04), accuracy off by "
                           f"{abs(acc - want_acc):.3f}: {hint}")


@pytest.mark.task("evaluate")
def test_evaluate_reads_the_batches_once(student, ref, rng):
    """Batches that can be iterated only once (a stream) give the same result as a list: one pass."""
    need_check_import(student, "loop_events", "evaluate")
    model, batches, trusted, x, y = eval_setup(student, ref, rng, "build_cnn")
    report = student.call("loop_events", student.get("evaluate"), model, batches, None, "cpu")
    expect(isinstance(report, dict) and {"events", "passes", "batches", "error", "result"} <= set(report),
           "could not follow the evaluation loop")
    if int(report["passes"]) > 1:
        raise GradeFailure(f"iterated over the batches {report['passes']} times (e.g. once to count the "
                           "samples, once for the loss): loop over them once and count the samples in that loop; "
                           "a stream of batches can be read only once, and a second pass doubles the work")
    expect(not report["error"], f"failed on batches that can be iterated once: {report['error']}")
    expect(int(report["batches"]) == math.ceil(len(y) / 16), f"drew {report['batches']} of the "
           f"{math.ceil(len(y) / 16)} batches")
    loss, acc = result_dict("evaluate", report["result"])
    scores = trusted_scores(trusted, x, train=False)
    want_loss = float(F.cross_entropy(scores, torch.as_tensor(y)))
    err = abs(loss - want_loss) / want_loss
    expect(err < 1e-4, f"on batches read in one pass the loss relative error is {err:.1e} (needs < 1e-04)")


@pytest.mark.task("evaluate")
def test_evaluate_is_deterministic_and_keeps_running_averages(student, ref, rng):
    model, batches, _, _, _ = eval_setup(student, ref, rng, "build_mlp")
    before = student.call("buffer_arrays", model)
    first = result_dict("evaluate", student.call("evaluate", model, batches, "cpu"))
    second = result_dict("evaluate", student.call("evaluate", model, batches, "cpu"))
    after = student.call("buffer_arrays", model)
    changed = [k for k in before if not np.array_equal(before[k], after.get(k))]
    expect(not changed, "evaluate changed the batch-norm running averages: call model.eval() before the loop")
    expect(first == second, "evaluate gave different results on the same data twice: call model.eval() "
           "(dropout must be off)")


@pytest.mark.task("evaluate")
def test_evaluate_does_not_record_gradients(student, ref, rng):
    need_setup(student, "record_grad_mode", "grad_mode_log")
    model, batches, _, _, _ = eval_setup(student, ref, rng, "build_cnn")
    student.call("record_grad_mode", model)
    student.call("evaluate", model, batches, "cpu")
    log = student.call("grad_mode_log", model)
    expect(isinstance(log, list) and len(log) > 0, "evaluate did not run the model")
    expect(not any(log), "evaluate builds autograd graphs: wrap the loop in torch.no_grad() "
           "(or torch.inference_mode())")


# --------------------------------------------------------------------------- to_grayscale
def grayscale(student, x: np.ndarray) -> np.ndarray:
    need_setup(student, "numpy_call")
    fn = student.get("to_grayscale")
    return student.call("numpy_call", fn, x)


@pytest.mark.task("to_grayscale")
def test_to_grayscale_pure_colours_use_itu_r_601_2_weights(student, rng):
    h, w = (int(v) for v in rng.integers(2, 9, size=2))
    x = np.zeros((3, 3, h, w), np.float32)
    for c in range(3):
        x[c, c] = 1.0
    out = as_array("to_grayscale(pure R, G, B images)", grayscale(student, x), (3, 1, h, w))
    luma = out.reshape(3, -1).astype(np.float64)
    weights = np.array([0.299, 0.587, 0.114])
    if np.max(np.abs(luma - weights[:, None])) > 2e-3:
        if np.allclose(luma, 1 / 3, atol=2e-3):
            hint = "that is the plain mean of R, G, B; use the ITU-R 601-2 weights 0.299, 0.587, 0.114"
        else:
            hint = "pure red should give 0.299, pure green 0.587 and pure blue 0.114 (channel order R, G, B)"
        raise GradeFailure(f"wrong luma for pure colours: {hint}")


@pytest.mark.task("to_grayscale")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_to_grayscale_float_images_one_channel(student, rng, dtype):
    n, h, w = int(rng.integers(2, 6)), int(rng.integers(4, 17)), int(rng.integers(4, 17))
    x = rng.uniform(0, 1, size=(n, 3, h, w)).astype(dtype)
    out = as_array("to_grayscale(images)", grayscale(student, x))
    expect(out.shape == (n, 1, h, w), f"output shape {out.shape}, expected (N, 1, H, W) "
           "(one channel)")
    expect(out.dtype.kind == "f", f"float input should give float output, got {out.dtype}")
    want = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    err = float(np.max(np.abs(out[:, 0].astype(np.float64) - want)))
    expect(err < 2e-3, f"max error {err:.1e} (needs < 2e-03): L = 0.299 R + 0.587 G + 0.114 B")


@pytest.mark.task("to_grayscale")
def test_to_grayscale_uint8_images_stay_uint8(student, rng):
    n = int(rng.integers(2, 6))
    x = rng.integers(0, 256, size=(n, 3, 32, 32)).astype(np.uint8)
    x[0, :, :4] = 0  # black and white pixels must stay exactly 0 and 255
    x[0, :, 4:8] = 255
    out = as_array("to_grayscale(uint8 images)", grayscale(student, x))
    expect(out.shape == (n, 1, 32, 32), f"output shape {out.shape}, expected (N, 1, 32, 32)")
    expect(out.dtype == np.uint8, f"uint8 images should give uint8 output (the dataset stays "
           f"uint8 on the device), got {out.dtype}")
    xf = x.astype(np.float64)
    want = 0.299 * xf[:, 0] + 0.587 * xf[:, 1] + 0.114 * xf[:, 2]
    err = float(np.max(np.abs(out[:, 0].astype(np.float64) - want)))
    # rounding or truncating back to uint8 (torchvision truncates, with weights 0.2989/0.587/0.114)
    expect(err < 1.5, f"uint8 output off by up to {err:.1f} grey levels (needs < 1.5)")
    # torchvision's weights sum to 0.9999, so truncation turns white into 254: both are fine
    expect(bool(np.all(out[0, 0, :4] == 0)) and bool(np.all(out[0, 0, 4:8] >= 254)),
           "black pixels should stay 0 and white pixels 255 (254 when truncating): round (or truncate) and "
           "clamp to 0..255")


# --------------------------------------------------------------------------- host synchronisations
def check_no_sync_in_loop(student, report, what: str) -> None:
    expect(isinstance(report, dict) and {"inside", "outside", "batches"} <= set(report),
           "could not count the host synchronisations")
    expect(int(report["batches"]) >= 2, f"{what} did not iterate over all the batches")
    inside = int(report["inside"])
    expect(inside == 0,
           f"{inside} host synchronisations inside the batch loop (the first: {report.get('first_inside') or '?'}): "
           "each .item(), float(), print or `if tensor` there makes the GPU wait; accumulate the summed loss and "
           "the correct count in tensors on the device and convert them once, after the loop")


@pytest.mark.task("train_one_epoch")
def test_train_one_epoch_syncs_with_the_host_only_after_the_loop(student, ref, rng):
    need_setup(student, "count_host_syncs")
    model, batches, opt, *_ = train_setup(student, ref, rng, n=24, batch=8)
    report = student.call("count_host_syncs", student.get("train_one_epoch"), model, batches, opt, "cpu")
    check_no_sync_in_loop(student, report, "train_one_epoch")


@pytest.mark.task("evaluate")
def test_evaluate_syncs_with_the_host_only_after_the_loop(student, ref, rng):
    need_setup(student, "count_host_syncs")
    model, batches, *_ = eval_setup(student, ref, rng, "build_mlp")
    report = student.call("count_host_syncs", student.get("evaluate"), model, batches, "cpu")
    check_no_sync_in_loop(student, report, "evaluate")
