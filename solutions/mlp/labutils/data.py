"""Datasets for the lab: MNIST and CIFAR-10, from their official file formats.

Where the files are looked for, in this order:

1. the ``path`` argument of the loader (a folder holding the files, or the data folder above it);
2. the ``MLPLAB_DATA`` environment variable: a folder containing ``mnist/`` and
   ``cifar-10-batches-py/``;
3. the local cache ``~/.cache/mlplab`` (or ``$MLPLAB_CACHE``), with the same layout;
4. a download with torchvision into the cache, when the network allows it.

If all of this fails, :class:`FileNotFoundError` says exactly which files to put where.

File formats (the official ones):

* MNIST: ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
  ``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz`` (gzipped IDX files).
* CIFAR-10: the python version, folder ``cifar-10-batches-py/`` with ``data_batch_1`` ..
  ``data_batch_5`` (whichever are present are used) and ``test_batch``; each is a pickled dict
  with ``b'data'`` (uint8, N x 3072, R/G/B planes of 32 x 32) and ``b'labels'``.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import struct
import warnings
from pathlib import Path

import numpy as np

MNIST_DIR = "mnist"
CIFAR_DIR = "cifar-10-batches-py"

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
# official checksums of the gzipped MNIST files
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

CIFAR10_CLASSES = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

MNIST_NUM_VALIDATION = 5000


# --------------------------------------------------------------------------- locations
def cache_dir() -> Path:
    """The local data cache: ``$MLPLAB_CACHE`` or ``~/.cache/mlplab``."""
    env = os.environ.get("MLPLAB_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "mlplab"


def _candidate_dirs(path, subdir: str, extra_cache: tuple[str, ...] = ()) -> list[Path]:
    """Folders that may hold the files, in resolution order."""
    dirs: list[Path] = []
    if path is not None:
        p = Path(path).expanduser()
        dirs += [p, p / subdir]
        return dirs  # an explicit path is authoritative
    env = os.environ.get("MLPLAB_DATA")
    if env:
        p = Path(env).expanduser()
        dirs += [p / subdir, p]
    cache = cache_dir()
    dirs += [cache / subdir] + [cache / extra for extra in extra_cache]
    return dirs


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _torchvision_download(kind: str) -> bool:
    """Try to download a dataset with torchvision into the cache; True on success."""
    try:
        import torchvision  # noqa: PLC0415 - heavy, only needed here
    except ImportError:
        return False
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    try:
        if kind == "mnist":
            torchvision.datasets.MNIST(str(root), train=True, download=True)
            torchvision.datasets.MNIST(str(root), train=False, download=True)
        else:
            torchvision.datasets.CIFAR10(str(root), train=True, download=True)
    except Exception as exc:  # noqa: BLE001 - no network, proxy errors, ...
        warnings.warn(f"could not download {kind} with torchvision: {exc}", stacklevel=3)
        return False
    return True


def _missing_message(what: str, subdir: str, files: list[str], path) -> str:
    where = (
        f"the folder you passed ({Path(path).expanduser()})"
        if path is not None
        else f"$MLPLAB_DATA/{subdir}/ (set MLPLAB_DATA to a folder containing {subdir}/) "
        f"or {cache_dir() / subdir}/"
    )
    listing = ", ".join(files)
    return (
        f"{what} files not found. Put {listing} into {where}. "
        "The automatic download with torchvision did not work (no network or torchvision missing)."
    )


# --------------------------------------------------------------------------- MNIST
def _read_idx(path: Path, magic: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path} is not an IDX file (too short)")
    (found,) = struct.unpack(">i", raw[:4])
    if found != magic:
        raise ValueError(f"{path} is not an IDX file of the expected kind (magic {found}, expected {magic})")
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "i" * ndim, raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path} is truncated: {data.size} bytes of data for shape {dims}")
    return data.reshape(dims)


def find_mnist(path=None) -> Path:
    """The folder holding the four MNIST files (downloads them if needed and possible)."""
    names = list(MNIST_FILES.values())

    def search() -> Path | None:
        for d in _candidate_dirs(path, MNIST_DIR, extra_cache=("MNIST/raw",)):
            if all((d / n).is_file() for n in names):
                return d
        return None

    found = search()
    if found is None and path is None and _torchvision_download("mnist"):
        found = search()
    if found is None:
        raise FileNotFoundError(_missing_message("MNIST", MNIST_DIR, names, path))
    return found


def load_mnist_raw(path=None, check_md5: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The official MNIST arrays: uint8 images (N, 28, 28) and uint8 labels (N,), train then test."""
    folder = find_mnist(path)
    if check_md5:
        for name, expected in MNIST_MD5.items():
            if _md5(folder / name) != expected:
                warnings.warn(f"{folder / name}: md5 differs from the official file; it may be corrupt", stacklevel=2)
    x_train = _read_idx(folder / MNIST_FILES["train_images"], 2051)
    y_train = _read_idx(folder / MNIST_FILES["train_labels"], 2049)
    x_test = _read_idx(folder / MNIST_FILES["test_images"], 2051)
    y_test = _read_idx(folder / MNIST_FILES["test_labels"], 2049)
    if x_train.shape[1:] != (28, 28) or len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise ValueError(f"MNIST files in {folder} have unexpected shapes")
    if y_train.max() > 9 or y_test.max() > 9:
        raise ValueError(f"MNIST labels in {folder} are outside 0..9")
    return x_train, y_train, x_test, y_test


def load_mnist(path=None, num_validation: int = MNIST_NUM_VALIDATION, flatten: bool = True) -> dict:
    """MNIST split as in the lab report: 55,000 train / 5,000 validation / 10,000 test.

    The validation set is the LAST ``num_validation`` images of the official training set.

    Returns a dict with ``X_train, y_train, X_val, y_val, X_test, y_test``: images float32 in
    [0, 1] of shape (N, 784) (or (N, 28, 28) with ``flatten=False``), labels int64 of shape (N,).
    """
    x_train, y_train, x_test, y_test = load_mnist_raw(path)

    def images(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float32) / np.float32(255.0)
        return x.reshape(len(x), -1) if flatten else x

    n_train = len(x_train) - num_validation
    return {
        "X_train": images(x_train[:n_train]),
        "y_train": y_train[:n_train].astype(np.int64),
        "X_val": images(x_train[n_train:]),
        "y_val": y_train[n_train:].astype(np.int64),
        "X_test": images(x_test),
        "y_test": y_test.astype(np.int64),
    }


# --------------------------------------------------------------------------- CIFAR-10
def _cifar_train_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("data_batch_*") if p.is_file())


def find_cifar10(path=None) -> Path:
    """The ``cifar-10-batches-py`` folder (downloads it if needed and possible)."""

    def search() -> Path | None:
        for d in _candidate_dirs(path, CIFAR_DIR):
            if (d / "test_batch").is_file() and _cifar_train_files(d):
                return d
        return None

    found = search()
    if found is None and path is None and _torchvision_download("cifar10"):
        found = search()
    if found is None:
        files = ["data_batch_1 .. data_batch_5 (at least one)", "test_batch"]
        raise FileNotFoundError(_missing_message("CIFAR-10 (python version)", CIFAR_DIR, files, path))
    return found


def _load_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    # The official CIFAR-10 python release is a set of pickled dicts; read them with bytes keys.
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels):
        raise ValueError(f"{path}: unexpected CIFAR-10 batch layout {data.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{path}: labels outside 0..9")
    return data.reshape(-1, 3, 32, 32), labels


def load_cifar10_raw(path=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """uint8 images (N, 3, 32, 32) and int64 labels of all training batches present, then the test batch."""
    folder = find_cifar10(path)
    parts = [_load_cifar_batch(p) for p in _cifar_train_files(folder)]
    x_train = np.concatenate([x for x, _ in parts])
    y_train = np.concatenate([y for _, y in parts])
    x_test, y_test = _load_cifar_batch(folder / "test_batch")
    return x_train, y_train, x_test, y_test


def load_cifar10(
    path=None,
    num_training: int | None = None,
    num_validation: int = 1000,
    num_test: int | None = None,
    subtract_mean: bool = True,
) -> dict:
    """CIFAR-10 as float32 arrays of shape (N, 3, 32, 32), pixel values scaled to [0, 1].

    The validation set is taken from the END of the available training images, the training
    set from the start (``num_training`` images, default: all the rest); the test set is the first
    ``num_test`` test images (default: all). With ``subtract_mean`` the per-pixel mean of the
    training images is subtracted from all three sets (it is returned as ``mean_image``).

    Returns a dict with ``X_train, y_train, X_val, y_val, X_test, y_test`` (labels int64) and
    ``mean_image`` (zeros when ``subtract_mean`` is False).
    """
    x_train, y_train, x_test, y_test = load_cifar10_raw(path)
    n = len(x_train)
    if num_validation >= n:
        raise ValueError(f"num_validation={num_validation} but only {n} training images are available")
    if num_training is None:
        num_training = n - num_validation
    if num_training + num_validation > n:
        raise ValueError(
            f"num_training + num_validation = {num_training + num_validation} but only {n} training images "
            "are available (with the CIFAR-10 subset, ask for fewer)"
        )
    if num_test is None:
        num_test = len(x_test)

    def images(x: np.ndarray) -> np.ndarray:
        return x.astype(np.float32) / np.float32(255.0)

    data = {
        "X_train": images(x_train[:num_training]),
        "y_train": y_train[:num_training],
        "X_val": images(x_train[n - num_validation :]),
        "y_val": y_train[n - num_validation :],
        "X_test": images(x_test[:num_test]),
        "y_test": y_test[:num_test],
    }
    mean = np.zeros((3, 32, 32), dtype=np.float32)
    if subtract_mean:
        mean = data["X_train"].mean(axis=0)
        for key in ("X_train", "X_val", "X_test"):
            data[key] -= mean
    data["mean_image"] = mean
    return data


# --------------------------------------------------------------------------- subsets
def subsample(data: dict, num_train: int | None = None, num_val: int | None = None,
              num_test: int | None = None, seed: int | None = None) -> dict:
    """A smaller copy of a dataset dict (keys ``X_/y_`` + train/val/test; other keys are kept).

    Takes the first ``num_*`` samples of each split, or a random subset when ``seed`` is given.
    ``None`` keeps a split whole.
    """
    rng = np.random.default_rng(seed) if seed is not None else None
    out = dict(data)
    for split, n in (("train", num_train), ("val", num_val), ("test", num_test)):
        x_key, y_key = f"X_{split}", f"y_{split}"
        if n is None or x_key not in data:
            continue
        total = len(data[x_key])
        n = min(int(n), total)
        idx = np.sort(rng.choice(total, n, replace=False)) if rng is not None else np.arange(n)
        out[x_key] = data[x_key][idx]
        out[y_key] = data[y_key][idx]
    return out


def quick_sizes(full: int, quick: int) -> int:
    """``quick`` in quick mode (``MLPLAB_QUICK=1``), else ``full``: for sample counts and epochs."""
    return quick if os.environ.get("MLPLAB_QUICK", "") not in ("", "0") else full
