"""The optional task graded from a submitted file (``fc_net_challenge``: ``fc_net_challenge.npz``, notebook 04).

The reference notebooks alone do not earn it: a submission without the file scores 0 there, with a message.
Tests that grade the reference notebooks either add a reference file (:func:`write_reference_model`, with a
threshold the quick model meets) or leave the task out (:func:`optional_points`)."""

from __future__ import annotations

import sys
from pathlib import Path

from .paths import ROOT, SOLUTIONS, SOURCE

QUICK_THRESHOLD = "0.15"  # MLPLAB_CHALLENGE_THRESHOLD that the model answer's quick model meets (chance: 0.10)


def submitted_file_tasks() -> dict[str, tuple[str, ...]]:
    from mlplab.coursedir import submitted_file_tasks as of_course

    return of_course(ROOT)


def optional_points() -> float:
    """Points of the tasks that need a submitted file."""
    from mlplab.coursedir import tasks

    return sum(task.points for task_id, task in tasks(ROOT).items() if task_id in submitted_file_tasks())


def assert_missing_file_scores_zero(result: dict) -> None:
    """Every submitted-file task of ``result`` (an ``mlplab grade --json`` object) scored 0 with its message."""
    for task_id, files in submitted_file_tasks().items():
        info = result["tasks"].get(task_id)
        if info is None:
            continue
        assert info["score"] == 0, (task_id, info)
        assert any(files[0] in m for m in info["messages"]), info  # the message names the file (any language)


def write_reference_model(folder: Path) -> Path:
    """Train the model answer's ``train_challenge_model`` in quick mode (500 images, a few seconds) and save
    ``fc_net_challenge.npz`` into ``folder``."""
    from mlplab.config import scoped_environ

    if str(SOURCE) not in sys.path:
        sys.path.insert(0, str(SOURCE))
    from labutils.challenge import save_challenge_model
    from labutils.data import load_cifar10, subsample
    from labutils.nbimport import import_notebook_code

    namespace: dict = {}
    names = ("01_layers.ipynb", "02_normalization.ipynb", "03_fc_net.ipynb", "04_optim_solver.ipynb")
    import_notebook_code(*[str(SOLUTIONS / n) for n in names], namespace=namespace)
    namespace["quick_mode"] = lambda: True
    data = subsample(load_cifar10(num_validation=1000), num_train=500, num_val=200)
    model = namespace["train_challenge_model"]({k: v for k, v in data.items() if not k.endswith("_test")})
    with scoped_environ({"MLPLAB_QUICK": "0"}):  # write even where a file exists
        path = save_challenge_model(model, data["mean_image"], folder)
    assert path is not None
    return path
