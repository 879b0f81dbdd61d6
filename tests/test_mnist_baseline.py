"""The reference MNIST baseline (784-256-128-64-10, Adam, batchnorm, dropout) reaches the report's
98.05 % test accuracy on the real MNIST, trained with the notebook's own schedule."""

import sys

import pytest

from mlplab.coursedir import source_dir
from mlplab.grading.reference import reference

pytestmark = [pytest.mark.needs_data, pytest.mark.slow]


def test_reference_mnist_baseline_reaches_the_reports_test_accuracy(data):
    sys.path.insert(0, str(source_dir()))
    from labutils.data import load_mnist
    from labutils.training import train_mnist_baseline

    ref = reference("04_optim_solver")
    mnist = load_mnist(data)
    assert (len(mnist["X_train"]), len(mnist["X_val"]), len(mnist["X_test"])) == (55000, 5000, 10000)
    model = ref.build_baseline_model({"lr": 2e-3, "reg": 1e-4, "ws": 5e-2, "kp": 0.9})
    weights = sum(v.size for k, v in model.params.items() if k.rstrip("0123456789") in ("W", "b"))
    assert weights == 242_762
    result = train_mnist_baseline(ref.build_baseline_model, ref.Solver, mnist, verbose=False)
    print(f"MNIST baseline: test accuracy {result['test_acc']:.4f} in {result['seconds']:.0f} s")
    assert result["test_acc"] >= 0.9805
