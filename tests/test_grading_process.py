"""The persistent grading process of a job slot grades submission after submission, and none of them can
see another: each still gets its own sandbox (its own /tmp, /scratch, /dev/shm, interpreter state), the
trusted side is rebuilt per submission, and a submission that tampers with everything it can reach changes
neither the next submission's verdicts nor its messages."""

from __future__ import annotations

import os

import pytest

from mlplab.autograde import Job, close_grading_processes, current_grading_process, grade_job

from .helpers.paths import ROOT
from .helpers.slots import slot
from .helpers.submissions import build, scores

pytestmark = [pytest.mark.needs_root]

SLOT = 12  # of this xdist worker's range (see conftest.slot)

# loaded first: writes a marker everywhere it may write, changes its interpreter, numpy and environment,
# and patches numpy's comparisons to say "equal" (the verdicts are computed outside the sandbox anyway)
TAMPER = """import builtins
import os
import numpy as np
for folder in ("/tmp", "/scratch", "/dev/shm", os.path.expanduser("~"), os.getcwd()):
    try:
        with open(os.path.join(folder, "mlplab-leak"), "w") as fh:
            fh.write("first submission was here")
    except OSError:
        pass
builtins.MLPLAB_LEAK = True
np.MLPLAB_LEAK = True
os.environ["MLPLAB_LEAK"] = "1"
np.allclose = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
"""

# graded second: a correct affine_forward, unless it finds any trace of the first submission
DETECTS_LEAKS = '''def affine_forward(x, w, b):
    """Correct, unless anything of an earlier submission is visible here."""
    import builtins
    import glob
    import os
    import sys
    import numpy as np
    # the sandbox binds the interpreter, the toolkit and labutils read-only at their real paths: a checkout
    # under /tmp (a CI clone) shows up as /tmp/<clone>, which no submission can write to
    binds = [os.path.realpath(q) for q in [sys.executable, *sys.path] if q]
    def bound(p):
        return not os.access(p, os.W_OK) and any(b == p or b.startswith(p + "/") for b in binds)
    traces = [p for pattern in ("/tmp/*", "/scratch/*leak*", "/scratch/*/*leak*", "/dev/shm/*",
                                os.path.expanduser("~") + "/*leak*") for p in glob.glob(pattern) if not bound(p)]
    leaks = {"files": traces, "builtins": hasattr(builtins, "MLPLAB_LEAK"), "numpy": hasattr(np, "MLPLAB_LEAK"),
             "environ": "MLPLAB_LEAK" in os.environ, "allclose": bool(np.allclose(np.zeros(1), np.ones(1)))}
    if any(leaks.values()):
        raise RuntimeError(f"LEAKED {leaks}")  # the grader's message names what this submission saw
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)
'''

# and a real bug, which must still be caught after the first submission patched numpy's comparisons
WRONG_RELU_BACKWARD = '''def relu_backward(dout, cache):
    """Wrong on purpose: passes the gradient where the input is negative too."""
    return dout
'''


@pytest.fixture
def persistent_slot():
    yield slot(SLOT)
    close_grading_processes()


def test_two_submissions_in_one_grading_process_cannot_see_each_other(tmp_path, persistent_slot, monkeypatch):
    monkeypatch.delenv("MLPLAB_PROCESS_PER_SUBMISSION", raising=False)
    first = build(tmp_path / "first", prepend={"relu_forward_solution": TAMPER})
    second = build(tmp_path / "second", replace={"affine_forward_solution": DETECTS_LEAKS,
                                                  "relu_backward_solution": WRONG_RELU_BACKWARD})
    reference = build(tmp_path / "reference")

    tampered = grade_job(Job("first", str(first)), persistent_slot, str(ROOT))
    process = current_grading_process(persistent_slot)
    assert process is not None and process.served == 1
    graded = grade_job(Job("second", str(second)), persistent_slot, str(ROOT))
    honest = grade_job(Job("reference", str(reference)), persistent_slot, str(ROOT))
    # all three graded by the same process, one after the other
    assert current_grading_process(persistent_slot) is process and process.served == 3
    assert process.proc.poll() is None

    assert scores(tampered)["relu_forward"] == tampered["tasks"]["relu_forward"]["max_score"]
    second_scores = scores(graded)
    assert second_scores["affine_forward"] == graded["tasks"]["affine_forward"]["max_score"], (
        graded["tasks"]["affine_forward"]["messages"])
    assert second_scores["relu_backward"] < graded["tasks"]["relu_backward"]["max_score"]
    assert graded["tasks"]["relu_backward"]["messages"]
    for task in ("relu_forward", "affine_backward", "softmax_loss"):
        assert second_scores[task] == graded["tasks"][task]["max_score"], task
    # the reference, graded after both, gets every point of notebook 01 and no message
    for task in ("affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss"):
        info = honest["tasks"][task]
        assert info["score"] == info["max_score"] and not info["messages"], (task, info)
    assert "MLPLAB_LEAK" not in os.environ


def test_a_grading_process_that_dies_costs_one_result_and_the_next_submission_gets_a_new_one(
        tmp_path, persistent_slot, monkeypatch):
    monkeypatch.delenv("MLPLAB_PROCESS_PER_SUBMISSION", raising=False)
    reference = build(tmp_path / "reference")
    grade_job(Job("one", str(reference)), persistent_slot, str(ROOT))
    process = current_grading_process(persistent_slot)
    process.proc.kill()
    process.proc.wait()
    again = grade_job(Job("two", str(reference)), persistent_slot, str(ROOT))
    assert current_grading_process(persistent_slot) is not process
    assert not again["errors"] or all("missing from the submission" in e for e in again["errors"])
    assert again["tasks"]["affine_forward"]["score"] == again["tasks"]["affine_forward"]["max_score"]
