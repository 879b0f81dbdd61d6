"""The optional task ``fc_net_challenge`` (notebook 04, section 8): the safe loader of the submitted
``fc_net_challenge.npz``, the graders' own forward pass, the threshold scoring, a missing file, and the wiring
(validation plan, service snapshot and hash, generate)."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mlplab.coursedir import tasks, use_graders

from .helpers.paths import ROOT, SOLUTIONS, SOURCE, data_dir

use_graders(ROOT)
from grader_tests import challenge_model as cm  # noqa: E402
from grader_tests.checks import GradeFailure  # noqa: E402

if str(SOURCE) not in sys.path:
    sys.path.insert(0, str(SOURCE))
from labutils.challenge import challenge_arrays, save_challenge_model  # noqa: E402


@pytest.fixture(scope="module")
def ref() -> dict:
    """The model answer's layers, FullyConnectedNet, Solver and train_challenge_model (solutions/)."""
    from labutils.nbimport import import_notebook_code

    namespace: dict = {}
    names = ("01_layers.ipynb", "02_normalization.ipynb", "03_fc_net.ipynb", "04_optim_solver.ipynb")
    import_notebook_code(*[str(SOLUTIONS / n) for n in names], namespace=namespace)
    return namespace


def trained_net(ref: dict, normalization: str | None, hidden=(20, 15), seed: int = 0):
    """A small FullyConnectedNet with non-trivial parameters and (batchnorm) running averages."""
    rng = np.random.default_rng(seed)
    np.random.seed(seed)
    model = ref["FullyConnectedNet"](list(hidden), normalization=normalization, weight_scale=5e-2,
                                     dtype=np.float64)
    for name, value in model.params.items():
        model.params[name] = value + 0.05 * rng.standard_normal(value.shape)
    x = rng.standard_normal((64, 3, 32, 32))
    model.loss(x, rng.integers(0, 10, 64))  # one train-mode pass: running averages exist
    return model


def save(tmp_path: Path, arrays: dict, name: str = cm.CHALLENGE_FILE) -> Path:
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


# -- the loader -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
def test_forward_pass_matches_the_reference_network_in_test_mode(ref, tmp_path, normalization):
    model = trained_net(ref, normalization)
    mean = np.random.default_rng(1).uniform(0.3, 0.6, (3, 32, 32)).astype(np.float32)
    path = save(tmp_path, challenge_arrays(model, mean))
    loaded = cm.load_challenge_model(path)
    images = np.random.default_rng(2).integers(0, 256, (30, 3, 32, 32), dtype=np.uint8)
    x = images.astype(np.float64) / 255.0 - mean.astype(np.float32)
    expected = model.loss(x)
    scores = cm.forward(loaded, images)
    assert scores.shape == (30, 10)
    assert np.max(np.abs(scores - expected)) < 1e-3 * (1 + np.max(np.abs(expected)))  # float32 in the file
    assert cm.accuracy(loaded, images, np.argmax(expected, axis=1)) > 0.9


def test_missing_file_fails_with_a_message(tmp_path):
    with pytest.raises(GradeFailure, match="missing from the submission"):
        cm.load_challenge_model(tmp_path / cm.CHALLENGE_FILE)


def test_not_an_npz_is_refused(tmp_path):
    path = tmp_path / cm.CHALLENGE_FILE
    path.write_bytes(b"not a zip at all")
    with pytest.raises(GradeFailure, match="not an .npz file"):
        cm.load_challenge_model(path)


def test_pickled_objects_are_refused(ref, tmp_path):
    arrays = challenge_arrays(trained_net(ref, None), np.zeros((3, 32, 32)))
    arrays["W1"] = np.array([{"evil": 1}], dtype=object)
    path = tmp_path / cm.CHALLENGE_FILE
    np.savez(path, **arrays)  # savez pickles object arrays
    with pytest.raises(GradeFailure, match="pickles"):
        cm.load_challenge_model(path)


def test_zip_bomb_is_refused_before_decompressing(tmp_path, monkeypatch):
    path = tmp_path / cm.CHALLENGE_FILE
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("W1.npy", b"\0" * (8 * 2**20))  # 8 MiB of zeros: a few KiB compressed
    assert path.stat().st_size < 2**20
    monkeypatch.setattr(cm, "MAX_UNCOMPRESSED_BYTES", 4 * 2**20)
    with pytest.raises(GradeFailure, match="unpacks to 8 MiB"):
        cm.load_challenge_model(path)


def test_a_header_that_declares_more_data_than_it_holds_is_refused_before_allocating(tmp_path):
    import io

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    path = tmp_path / cm.CHALLENGE_FILE
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("W1.npy", header.getvalue() + b"\0" * 64)  # 8 TB declared, 64 bytes present
    with pytest.raises(GradeFailure, match="declares more data than it holds"):
        cm.load_challenge_model(path)


def test_oversized_file_and_too_many_members_are_refused(tmp_path, monkeypatch):
    path = save(tmp_path, {f"x{i}": np.zeros(1) for i in range(5)})
    monkeypatch.setattr(cm, "MAX_MEMBERS", 3)
    with pytest.raises(GradeFailure, match="holds 5 arrays"):
        cm.load_challenge_model(path)
    monkeypatch.setattr(cm, "MAX_FILE_BYTES", 10)
    with pytest.raises(GradeFailure, match="the limit is"):
        cm.load_challenge_model(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.update(W1=a["W1"][:100]), r"W1 .* has shape \(100, 20\), expected \(3072, 20\)"),
        (lambda a: a.update(b2=a["b2"].astype(np.int64)), "b2 .* has dtype int64; expected floating point"),
        (lambda a: a["W2"].__setitem__((0, 0), np.nan), "W2 .* holds NaN or inf"),
        (lambda a: a.update(normalization=np.array("dropout")), "normalization 'dropout'"),
        (lambda a: a.update(normalization=np.array(3)), "needs 'normalization' as a text"),
        (lambda a: a.pop("mean_image"), "has no array 'mean_image'"),
        (lambda a: a.update(mean_image=np.zeros((32, 32, 3))), r"mean_image .* expected \(3, 32, 32\)"),
        (lambda a: a.update(W3=np.zeros((15, 7))), r"W3 .* has shape \(15, 7\), expected \(15, 10\)"),
        (lambda a: a.update(notes=np.zeros(3)), "unexpected array 'notes'"),
        (lambda a: a.update(gamma1=np.ones(20)), "does not use: gamma1"),
    ],
    ids=["shape", "dtype", "nan", "norm-name", "norm-type", "no-mean", "mean-shape", "classes", "extra", "unused"],
)
def test_malformed_arrays_fail_with_teaching_messages(ref, tmp_path, change, message):
    arrays = challenge_arrays(trained_net(ref, None), np.zeros((3, 32, 32)))
    change(arrays)
    with pytest.raises(GradeFailure, match=message):
        cm.load_challenge_model(save(tmp_path, arrays))


def test_batchnorm_needs_running_averages_and_eps(ref, tmp_path):
    arrays = challenge_arrays(trained_net(ref, "batchnorm"), np.zeros((3, 32, 32)))
    without = {k: v for k, v in arrays.items() if k != "running_var1"}
    with pytest.raises(GradeFailure, match="no array 'running_var1'"):
        cm.load_challenge_model(save(tmp_path, without))
    arrays["eps"] = np.array(-1.0)
    with pytest.raises(GradeFailure, match="needs 'eps'"):
        cm.load_challenge_model(save(tmp_path, arrays))


def test_challenge_arrays_needs_running_averages(ref):
    model = ref["FullyConnectedNet"]([8], normalization="batchnorm")  # never trained
    with pytest.raises(ValueError, match="train the model"):
        challenge_arrays(model, np.zeros((3, 32, 32)))


def test_quick_mode_never_overwrites_an_existing_file(ref, tmp_path, monkeypatch):
    model = trained_net(ref, None)
    (tmp_path / cm.CHALLENGE_FILE).write_bytes(b"the full run's file")
    monkeypatch.setenv("MLPLAB_QUICK", "1")
    assert save_challenge_model(model, np.zeros((3, 32, 32)), tmp_path) is None
    assert (tmp_path / cm.CHALLENGE_FILE).read_bytes() == b"the full run's file"
    monkeypatch.setenv("MLPLAB_QUICK", "0")
    written = save_challenge_model(model, np.zeros((3, 32, 32)), tmp_path)
    assert written == tmp_path / cm.CHALLENGE_FILE
    assert cm.load_challenge_model(written).normalization == "none"
    assert sorted(p.name for p in tmp_path.iterdir()) == [cm.CHALLENGE_FILE]  # no temporary file left


# -- the split ---------------------------------------------------------------------------------------------


def test_split_parsing_and_subset_fallback():
    assert cm.parse_split("test_batch:5000-9999") == ("test_batch", 5000, 10000)
    for bad in ("test_batch", "test_batch:9-3", "../x:1-2", ""):
        with pytest.raises(ValueError):
            cm.parse_split(bad)
    assert cm.split_range(10000, 5000, 10000) == (5000, 10000)  # the official test batch
    assert cm.split_range(1000, 5000, 10000) == (500, 1000)  # the course's 1,000-image subset: second half
    assert cm.split_range(1000, 200, 700) == (200, 700)


def test_default_settings():
    from mlplab.config import load

    options = load(None, environ={}).autograde
    assert options.challenge_split == "test_batch:5000-9999"
    assert options.challenge_threshold == 0.5


# -- grading end to end --------------------------------------------------------------------------------------


def grade_challenge(folder: Path) -> dict:
    """Run the graders of fc_net_challenge (no student code: no student factory) on ``folder``."""
    from mlplab.grading.runner import GradingPlugin, run_graders

    table = tasks(ROOT)
    plugin = GradingPlugin(None, table, {"fc_net_challenge"}, submission_dir=folder)  # type: ignore[arg-type]
    run_graders(plugin, ROOT)
    return plugin.results["fc_net_challenge"].result().to_json()


@pytest.fixture
def hidden(monkeypatch):
    monkeypatch.setenv("MLPLAB_DATA", str(data_dir()))
    monkeypatch.setenv("MLPLAB_COURSE_ROOT", str(ROOT))
    images, labels = cm.hidden_split("test_batch:5000-9999", str(data_dir()), str(ROOT))
    return images, labels


@pytest.mark.needs_data
def test_missing_file_scores_zero_with_a_message(tmp_path, hidden):
    result = grade_challenge(tmp_path)
    assert result["score"] == 0 and result["max_score"] == 3
    assert any("fc_net_challenge.npz is missing from the submission" in m for m in result["messages"])


@pytest.mark.needs_data
def test_threshold_scoring(ref, tmp_path, hidden, monkeypatch):
    model = trained_net(ref, "batchnorm")
    save_challenge_model(model, np.zeros((3, 32, 32), dtype=np.float32), tmp_path)
    acc = cm.accuracy(cm.load_challenge_model(tmp_path / cm.CHALLENGE_FILE), *hidden)
    for threshold, points in ((acc - 0.01, 3.0), (acc / 0.6 - 0.01, 1.5), (acc / 0.6 + 0.01, 0.0)):
        monkeypatch.setenv("MLPLAB_CHALLENGE_THRESHOLD", f"{min(max(threshold, 0.0), 1.0):.6f}")
        result = grade_challenge(tmp_path)
        assert result["score"] == points, (threshold, acc, result)
        if points < 3:
            assert any("on the hidden split" in m for m in result["messages"]), result


@pytest.mark.needs_data
def test_the_model_answer_passes_a_quick_threshold(ref, tmp_path, hidden, monkeypatch):
    """The model answer in quick mode (500 images, 3 epochs) beats a low threshold; its full run is in the
    notebook (about 35 % on the course's CIFAR-10 subset, more than 50 % is expected with the full data)."""
    from labutils.data import load_cifar10, subsample

    monkeypatch.setenv("MLPLAB_QUICK", "1")
    ref["quick_mode"] = lambda: True
    data = subsample(load_cifar10(num_validation=1000), num_train=500, num_val=200)
    model = ref["train_challenge_model"]({k: v for k, v in data.items() if not k.endswith("_test")})
    save_challenge_model(model, data["mean_image"], tmp_path)
    acc = cm.accuracy(cm.load_challenge_model(tmp_path / cm.CHALLENGE_FILE), *hidden)
    assert acc > 0.2, acc  # chance is 0.1
    monkeypatch.setenv("MLPLAB_CHALLENGE_THRESHOLD", "0.15")
    assert grade_challenge(tmp_path)["score"] == 3.0


# -- wiring --------------------------------------------------------------------------------------------------


def test_validation_leaves_out_tasks_that_grade_submitted_files():
    from mlplab.coursedir import submitted_file_tasks
    from mlplab.validity.plan import make_plan

    assert submitted_file_tasks(ROOT) == {"fc_net_challenge": ("fc_net_challenge.npz",)}
    plan = make_plan(ROOT)
    assert "fc_net_challenge" not in plan.table and "solver" in plan.table


def test_service_snapshot_keeps_and_hashes_the_npz(tmp_path):
    from mlplab.service.grader import copy_submission, notebooks_hash

    inbound = tmp_path / "in"
    inbound.mkdir()
    (inbound / "04_optim_solver.ipynb").write_text("{}")
    (inbound / "notes.txt").write_text("ignored")
    before = notebooks_hash(inbound)
    (inbound / cm.CHALLENGE_FILE).write_bytes(b"weights")
    with_npz = notebooks_hash(inbound)
    assert with_npz != before
    copy_submission(inbound, tmp_path / "snap")
    assert sorted(p.name for p in (tmp_path / "snap").iterdir()) == ["04_optim_solver.ipynb", cm.CHALLENGE_FILE]
    assert notebooks_hash(tmp_path / "snap") == with_npz


def test_generate_ships_no_instructor_npz(tmp_path):
    from mlplab.course.generate import drop_submitted_files
    from mlplab.coursedir import submitted_file_names

    assert submitted_file_names(ROOT) == (cm.CHALLENGE_FILE,)
    (tmp_path / cm.CHALLENGE_FILE).write_bytes(b"instructor's model")
    (tmp_path / "keep.md").write_text("x")
    drop_submitted_files(tmp_path, submitted_file_names(ROOT))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.md"]
    assert not (ROOT / "release" / "mlp" / cm.CHALLENGE_FILE).exists()


def test_nbgrader_autograde_keeps_the_submitted_npz():
    text = (ROOT / "nbgrader_config.py").read_text()
    assert 'c.Autograde.exclude_overwriting = {"mlp": ["fc_net_challenge.npz"]}' in text
