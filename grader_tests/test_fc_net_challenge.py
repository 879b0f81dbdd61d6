"""Hidden graders of the optional challenge of notebook 04: ``fc_net_challenge`` (3 points).

The student submits ``fc_net_challenge.npz`` (written by ``labutils.challenge.save_challenge_model``) next to
the notebook. No student code runs here: :mod:`grader_tests.challenge_model` reads the file safely and runs
its own forward pass on the hidden split (``c.Autograde.challenge_split``, default CIFAR-10 ``test_batch``
images 5000-9999). Two checks of equal weight: accuracy >= 60 % of ``c.Autograde.challenge_threshold``
(default 0.50, so 30 %) earns half the points, accuracy >= the threshold the other half. A missing or
malformed file fails both checks with a message (0 points), never an error of the grading run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader_tests.challenge_model import CHALLENGE_FILE, accuracy, hidden_split, load_challenge_model
from grader_tests.checks import expect, record

HALF_CREDIT = 0.6  # of the threshold


def challenge_settings() -> tuple[str, float]:
    """(split, threshold) of this grading run (nbgrader_config.py, then the environment)."""
    from mlplab.config import load
    from mlplab.coursedir import course_root

    options = load(course_root()).autograde
    return options.challenge_split, float(options.challenge_threshold)


def measured_accuracy(path: Path) -> tuple[float, int]:
    """(accuracy on the hidden split, number of images) of the submitted file."""
    from mlplab.coursedir import course_root

    model = load_challenge_model(path)  # a missing or bad file fails here, with its message
    split, _ = challenge_settings()
    images, labels = hidden_split(split, os.environ.get("MLPLAB_DATA") or None, str(course_root()))
    return accuracy(model, images, labels), len(images)


def check_accuracy(submitted_dir: Path, needed: float, full: bool) -> None:
    acc, count = measured_accuracy(submitted_dir / CHALLENGE_FILE)
    record("1 - accuracy on the hidden split", 1.0 - acc, 1.0 - needed)
    hint = "train longer, tune the learning rate and weight scale on the validation split, try batch normalisation"
    expect(acc >= needed,
           f"accuracy {100 * acc:.1f} % on the hidden split ({count} images) is below the {100 * needed:.0f} % "
           f"needed for full marks: {hint}" if full else
           f"accuracy {100 * acc:.1f} % on the hidden split ({count} images) is below the {100 * needed:.0f} % "
           f"needed for half marks: {hint}")


@pytest.mark.task("fc_net_challenge")
def test_fc_net_challenge_reaches_half_credit(submitted_dir):
    _, threshold = challenge_settings()
    check_accuracy(submitted_dir, HALF_CREDIT * threshold, full=False)


@pytest.mark.task("fc_net_challenge")
def test_fc_net_challenge_reaches_threshold(submitted_dir):
    _, threshold = challenge_settings()
    check_accuracy(submitted_dir, threshold, full=True)
