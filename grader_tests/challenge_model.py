"""The trusted side of the optional task ``fc_net_challenge``: read a submitted ``fc_net_challenge.npz``
safely and score it on the hidden split with this module's own forward pass.

No student code runs for this task. The file is untrusted input, so it is read defensively:

* a size limit on the file, on the sum of its members' uncompressed sizes (a zip bomb), and on their
  number, checked on the zip directory before anything is decompressed;
* ``numpy.load(..., allow_pickle=False)``: object arrays (pickles) are refused;
* every array's name, dtype, shape and values (finite) are checked against the format written by
  ``labutils.challenge.save_challenge_model``; failures are :class:`GradeFailure` with teaching messages.

The hidden split is ``c.Autograde.challenge_split`` (``$MLPLAB_CHALLENGE_SPLIT``; default the second half
of CIFAR-10's ``test_batch``, images 5000-9999), read from the course's data folder (``$MLPLAB_DATA``).
"""

from __future__ import annotations

import functools
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader_tests.checks import GradeFailure, expect

CHALLENGE_FILE = "fc_net_challenge.npz"
MAX_FILE_BYTES = 64 * 2**20  # the submitted file
MAX_UNCOMPRESSED_BYTES = 256 * 2**20  # all members, decompressed
MAX_MEMBERS = 200
MAX_LAYERS = 20
INPUT_DIM = 3 * 32 * 32
NUM_CLASSES = 10
NORMALIZATIONS = ("none", "batchnorm", "layernorm")
MEMBER = re.compile(r"^(W|b|gamma|beta|running_mean|running_var)([1-9][0-9]?)$")
OTHER_MEMBERS = ("normalization", "mean_image", "eps")
SPLIT = re.compile(r"^\s*([A-Za-z0-9_]+)\s*:\s*(\d+)\s*-\s*(\d+)\s*$")
MIN_SPLIT_IMAGES = 100


@dataclass(frozen=True)
class ChallengeModel:
    """A validated network: per layer (W, b), the normalisation and its arrays, the mean image."""

    weights: tuple[tuple[np.ndarray, np.ndarray], ...]
    normalization: str
    norm: tuple[dict[str, np.ndarray], ...]  # per hidden layer: gamma, beta (+ running_mean, running_var)
    eps: float
    mean_image: np.ndarray


def fail(message: str) -> None:
    raise GradeFailure(message)


def _check_zip(path: Path) -> None:
    size = path.stat().st_size
    expect(size <= MAX_FILE_BYTES, f"{CHALLENGE_FILE} is {size / 2**20:.1f} MiB; the limit is "
                                   f"{MAX_FILE_BYTES // 2**20} MiB: use fewer or smaller hidden layers")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        fail(f"{CHALLENGE_FILE} is not an .npz file: write it with save_challenge_model(model, data['mean_image'])")
    expect(len(infos) <= MAX_MEMBERS, f"{CHALLENGE_FILE} holds {len(infos)} arrays; at most {MAX_MEMBERS} are "
                                      "allowed: save only the network (save_challenge_model)")
    total = sum(max(0, info.file_size) for info in infos)
    expect(total <= MAX_UNCOMPRESSED_BYTES,
           f"{CHALLENGE_FILE} unpacks to {total / 2**20:.0f} MiB; the limit is {MAX_UNCOMPRESSED_BYTES // 2**20} MiB: "
           "use fewer or smaller hidden layers")
    # numpy allocates what an .npy header declares before reading the data: a header may not declare more
    # bytes than its member holds (and never an object dtype)
    try:
        with zipfile.ZipFile(path) as archive:
            for info in infos:
                if not info.filename.endswith(".npy"):
                    continue
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(member)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(member)
                name = info.filename[:40]
                expect(not dtype.hasobject, f"{CHALLENGE_FILE} holds Python objects (pickles), which are not accepted: "
                                            "save plain arrays with save_challenge_model")
                declared = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                expect(declared <= info.file_size, f"{name} in {CHALLENGE_FILE} declares more data than it holds: "
                                                   "write the file with save_challenge_model")
    except GradeFailure:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, RuntimeError, TypeError):
        fail(f"{CHALLENGE_FILE} could not be read as an .npz of arrays: write it with save_challenge_model")


def _float_array(arrays: dict[str, np.ndarray], name: str, shape: tuple[int, ...]) -> np.ndarray:
    expect(name in arrays, f"{CHALLENGE_FILE} has no array {name!r}: write it with save_challenge_model")
    value = arrays[name]
    expect(value.dtype.kind == "f", f"{name} in {CHALLENGE_FILE} has dtype {value.dtype}; expected floating point")
    expect(value.shape == shape, f"{name} in {CHALLENGE_FILE} has shape {value.shape}, expected {shape}")
    expect(bool(np.all(np.isfinite(value))), f"{name} in {CHALLENGE_FILE} holds NaN or inf: the training diverged "
                                             "(lower the learning rate)")
    return value.astype(np.float64)


def load_challenge_model(path: str | Path) -> ChallengeModel:
    """Read and validate ``path`` (an ``fc_net_challenge.npz``); raises :class:`GradeFailure` with a message
    for the student when the file is missing, too large, not an npz, holds objects, or has the wrong arrays."""
    path = Path(path)
    expect(path.is_file() and not path.is_symlink(),
           f"{CHALLENGE_FILE} is missing from the submission: run the cell of section 8 that saves it "
           "(optional task: without it this task scores 0)")
    _check_zip(path)
    arrays: dict[str, np.ndarray] = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            for name in npz.files:
                expect(bool(MEMBER.match(name)) or name in OTHER_MEMBERS,
                       f"{CHALLENGE_FILE} holds an unexpected array {name[:40]!r}: save only the network "
                       "(save_challenge_model)")
                arrays[name] = npz[name]
    except GradeFailure:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            fail(f"{CHALLENGE_FILE} holds Python objects (pickles), which are not accepted: save plain arrays "
                 "with save_challenge_model")
        fail(f"{CHALLENGE_FILE} could not be read as an .npz of arrays: write it with save_challenge_model")
    except (OSError, zipfile.BadZipFile, EOFError, KeyError):
        fail(f"{CHALLENGE_FILE} could not be read as an .npz of arrays: write it with save_challenge_model")

    norm_value = arrays.get("normalization")
    expect(norm_value is not None and norm_value.dtype.kind == "U" and norm_value.shape == (),
           f"{CHALLENGE_FILE} needs 'normalization' as a text: 'none', 'batchnorm' or 'layernorm'")
    normalization = str(norm_value.item())
    expect(normalization in NORMALIZATIONS,
           f"normalization {normalization[:20]!r} in {CHALLENGE_FILE}: expected 'none', 'batchnorm' or 'layernorm'")
    layers = 0
    while f"W{layers + 1}" in arrays:
        layers += 1
    expect(1 <= layers <= MAX_LAYERS, f"{CHALLENGE_FILE} should hold W1 .. WL with 1 <= L <= {MAX_LAYERS}")
    weights, norm = [], []
    fan_in = INPUT_DIM
    for i in range(1, layers + 1):
        w_value = arrays[f"W{i}"]
        expect(w_value.ndim == 2, f"W{i} in {CHALLENGE_FILE} has shape {w_value.shape}; expected (D_in, D_out)")
        fan_out = NUM_CLASSES if i == layers else int(w_value.shape[1])
        w = _float_array(arrays, f"W{i}", (fan_in, fan_out))
        b = _float_array(arrays, f"b{i}", (fan_out,))
        weights.append((w, b))
        if i < layers and normalization != "none":
            entry = {k: _float_array(arrays, f"{k}{i}", (fan_out,)) for k in ("gamma", "beta")}
            if normalization == "batchnorm":
                entry["running_mean"] = _float_array(arrays, f"running_mean{i}", (fan_out,))
                entry["running_var"] = _float_array(arrays, f"running_var{i}", (fan_out,))
                expect(bool(np.all(entry["running_var"] >= 0)), f"running_var{i} in {CHALLENGE_FILE} is negative")
            norm.append(entry)
        fan_in = fan_out
    expected = {f"{k}{i}" for i in range(1, layers + 1) for k in ("W", "b")} | {"normalization", "mean_image"}
    if normalization != "none":
        expected |= {f"{k}{i}" for i in range(1, layers) for k in ("gamma", "beta")}
    if normalization == "batchnorm":
        expected |= {f"{k}{i}" for i in range(1, layers) for k in ("running_mean", "running_var")} | {"eps"}
    extra = sorted(set(arrays) - expected)
    expect(not extra, f"{CHALLENGE_FILE} holds arrays this network does not use: {', '.join(extra[:5])}")
    eps = 1e-5
    if normalization == "batchnorm":
        eps_value = arrays.get("eps")
        expect(eps_value is not None and eps_value.shape == () and eps_value.dtype.kind == "f"
               and bool(np.isfinite(eps_value)) and 0 < float(eps_value) < 1,
               f"{CHALLENGE_FILE} needs 'eps' (a number between 0 and 1) for batch normalisation")
        eps = float(eps_value)
    mean_image = _float_array(arrays, "mean_image", (3, 32, 32))
    return ChallengeModel(tuple(weights), normalization, tuple(norm), eps, mean_image)


def forward(model: ChallengeModel, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Class scores, shape (N, 10), for ``images`` uint8 of shape (N, 3, 32, 32): scale to [0, 1], subtract the
    mean image, then ``{affine - [norm] - relu} x (L - 1) - affine`` (batch norm in test mode: running averages;
    layer norm per sample with eps 1e-5; dropout is the identity)."""
    out = []
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size].astype(np.float64) / 255.0 - model.mean_image
        h = x.reshape(len(x), -1)
        for i, (w, b) in enumerate(model.weights):
            h = h @ w + b
            if i == len(model.weights) - 1:
                break
            if model.normalization == "batchnorm":
                p = model.norm[i]
                h = (h - p["running_mean"]) / np.sqrt(p["running_var"] + model.eps) * p["gamma"] + p["beta"]
            elif model.normalization == "layernorm":
                p = model.norm[i]
                mu = h.mean(axis=1, keepdims=True)
                var = h.var(axis=1, keepdims=True)
                h = (h - mu) / np.sqrt(var + 1e-5) * p["gamma"] + p["beta"]
            h = np.maximum(h, 0.0)
        out.append(h)
    return np.concatenate(out) if out else np.zeros((0, NUM_CLASSES))


def accuracy(model: ChallengeModel, images: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of ``images`` whose highest score is the label (NaN scores count as wrong)."""
    scores = forward(model, images)
    with np.errstate(invalid="ignore"):
        predicted = np.argmax(np.nan_to_num(scores, nan=-np.inf), axis=1)
    return float(np.mean(predicted == labels)) if len(labels) else 0.0


def parse_split(spec: str) -> tuple[str, int, int]:
    """``"test_batch:5000-9999"`` -> ("test_batch", 5000, 10000) (a half-open range)."""
    match = SPLIT.match(spec or "")
    if match is None or int(match.group(2)) > int(match.group(3)):
        raise ValueError(f"c.Autograde.challenge_split={spec!r}: expected BATCH:FIRST-LAST, e.g. test_batch:5000-9999")
    return match.group(1), int(match.group(2)), int(match.group(3)) + 1


def split_range(available: int, first: int, stop: int) -> tuple[int, int]:
    """The images of a split that exist: ``[first, stop)`` clipped to ``available``; when fewer than
    :data:`MIN_SPLIT_IMAGES` remain (a CIFAR-10 subset), the second half of the images present."""
    lo, hi = min(first, available), min(stop, available)
    if hi - lo < MIN_SPLIT_IMAGES:
        lo, hi = available // 2, available
    return lo, hi


@functools.lru_cache(maxsize=4)
def hidden_split(spec: str, data_dir: str | None, root: str) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 3, 32, 32), labels int64 (N,)) of the hidden split, read with the course's provided
    CIFAR-10 reader (``labutils.data``, trusted course code) from ``data_dir`` (None: its usual search)."""
    import sys

    from mlplab.coursedir import source_dir

    batch, first, stop = parse_split(spec)
    provided = str(source_dir(Path(root)))
    if provided not in sys.path:
        sys.path.insert(0, provided)
    from labutils import data as cifar_data

    folder = cifar_data.find_cifar10(data_dir) if data_dir else cifar_data.find_cifar10()
    path = folder / batch
    if not path.is_file():
        raise FileNotFoundError(f"the hidden split's batch {batch} is not in {folder}")
    images, labels = cifar_data._load_cifar_batch(path)
    lo, hi = split_range(len(images), first, stop)
    return images[lo:hi], labels[lo:hi]
