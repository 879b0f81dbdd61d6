"""Fixtures shared by all hidden graders.

* ``student``: a :class:`mlplab.sandbox.student.Student` bound to the submission code
  of the test's task (see ``@pytest.mark.task``). For composite tasks listed in
  :data:`REFERENCE_PARTS`, the named functions/classes are replaced by the
  reference versions, so a bug elsewhere costs points only in its own task. A test marked
  ``@pytest.mark.reference_parts("Class.method")`` also gets that one method from the reference
  (the Solver's training checks use the reference ``check_accuracy``).
* ``ref``: the reference implementation (trusted, in this process).
* ``rng``: a numpy Generator seeded from the grader seed and the test's id,
  so every test case has its own reproducible inputs.
* ``task_id``: the task id of the running test.
* ``submitted_dir``: the folder of the submission's notebooks, for the tasks listed in
  :data:`SUBMITTED_FILES` only (they grade a file the student submits, e.g. trained weights, never
  code); the graders read those files as untrusted data.

Graders never read submitted notebooks themselves and never execute student code
in this process; the runner supplies the ``student`` handle (and, for :data:`SUBMITTED_FILES`
tasks, the submission folder).
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from mlplab.grading.reference import reference

LAYER_NAMES = (
    "affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss",
)
NORM_NAMES = (
    "batchnorm_forward", "batchnorm_backward", "layernorm_forward", "layernorm_backward",
    "dropout_forward", "dropout_backward",
)
OPTIM_NAMES = ("sgd", "sgd_momentum", "rmsprop", "adam")

# task id -> names the student worker takes from the reference instead of the submission
REFERENCE_PARTS: dict[str, tuple[str, ...]] = {
    "fc_net": LAYER_NAMES + NORM_NAMES,
    "solver": LAYER_NAMES + NORM_NAMES + ("FullyConnectedNet",) + OPTIM_NAMES,
    "mnist_baseline": LAYER_NAMES + NORM_NAMES + ("FullyConnectedNet", "Solver") + OPTIM_NAMES,
    # notebook 05: loops and initialisation are graded on reference models
    "init_weights": ("build_mlp", "build_cnn"),
    "train_one_epoch": ("build_mlp", "build_cnn"),
    "evaluate": ("build_mlp", "build_cnn"),
}

# task id -> files (next to the notebook) the task grades instead of code. These tasks have no solution
# cell the graders call, so `mlplab validate-graders` and mutation testing leave them out (they are tested
# by tests/test_fc_net_challenge.py), and the grading service keeps these files with the notebooks.
SUBMITTED_FILES: dict[str, tuple[str, ...]] = {
    "fc_net_challenge": ("fc_net_challenge.npz",),
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "task(id): the nbgrader grade_id this test belongs to")
    config.addinivalue_line(
        "markers",
        "reference_parts(*names): this test also takes these parts from the reference, e.g. "
        "'Solver.check_accuracy' (one method of the student's own class), so it does not pay for them",
    )
    config.addinivalue_line(
        "markers",
        "guard: a side-effect check (e.g. inputs not modified); it earns credit only when at least one "
        "correctness check of the same task passes, so code that does nothing earns nothing",
    )


def task_of(item: pytest.Item) -> str:
    marker = item.get_closest_marker("task")
    if marker is None or not marker.args:
        raise pytest.UsageError(f"{item.nodeid} has no @pytest.mark.task(...)")
    return str(marker.args[0])


@pytest.fixture
def task_id(request: pytest.FixtureRequest) -> str:
    return task_of(request.node)


@pytest.fixture
def student(request: pytest.FixtureRequest, task_id: str):
    provider = request.config.pluginmanager.get_plugin("mlplab-grading")
    if provider is None:
        pytest.fail("graders run through `mlplab grade` or the nbgrader hidden cells, not bare pytest")
    extra = tuple(name for marker in request.node.iter_markers("reference_parts") for name in marker.args)
    return provider.student_for(task_id, REFERENCE_PARTS.get(task_id, ()) + extra)


@pytest.fixture
def grader_seed(request: pytest.FixtureRequest) -> int:
    provider = request.config.pluginmanager.get_plugin("mlplab-grading")
    return int(getattr(provider, "seed", 0))


@pytest.fixture
def rng(request: pytest.FixtureRequest, grader_seed: int) -> np.random.Generator:
    return np.random.default_rng([grader_seed, zlib.crc32(request.node.nodeid.encode())])


@pytest.fixture
def ref(request: pytest.FixtureRequest, task_id: str):
    provider = request.config.pluginmanager.get_plugin("mlplab-grading")
    return reference(provider.notebook_of(task_id))


@pytest.fixture
def submitted_dir(request: pytest.FixtureRequest, task_id: str) -> Path:
    if task_id not in SUBMITTED_FILES:
        raise pytest.UsageError(f"{task_id} reads no submitted files: list it in SUBMITTED_FILES")
    provider = request.config.pluginmanager.get_plugin("mlplab-grading")
    folder = getattr(provider, "submission_dir", None)
    if folder is None:
        pytest.fail("graders run through `mlplab grade` or the nbgrader hidden cells, not bare pytest")
    return Path(folder)
