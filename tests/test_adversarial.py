"""Hostile submissions: no attack changes a verdict, stalls grading or escapes the sandbox.

Each attack is compared with an *honest* submission that has the same real
behaviour (the same wrong answer, or the same exception) without the attack:
the scores must be identical, task by task. Attacks that do not touch the
answers must leave a correct submission at full marks.
"""

from __future__ import annotations

import functools
import hashlib
import socket
import sqlite3
import textwrap
from pathlib import Path

import pytest

from .helpers.cli import grade_json
from .helpers.paths import ROOT
from .helpers.submissions import build, reference_cells, scores

pytestmark = [pytest.mark.needs_root]

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
            __ne__ = lambda self, other: False
            shape = property(lambda self: (0,))
            dtype = property(lambda self: np.float64)

        def affine_forward(x, w, b):
            return Anything(), (x, w, b)
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


def _tree_digest(path: Path) -> str:
    digest = hashlib.sha256()
    for item in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if item.is_file() and "__pycache__" not in item.parts:
            digest.update(str(item).encode() + item.read_bytes())
    return digest.hexdigest()


# every host path an extra-cell attack aims at: their contents before and after must be equal
HOST_TARGETS = [ROOT / "nbgrader_config.py", ROOT / "grader_tests", Path("/usr/lib/os-release"), Path("/etc/passwd")]
# files the attacks try to create, as the host would see them (none may appear)
HOST_FORGERIES = [Path("/tmp/results.json"), ROOT / "x", Path("/x")]


@pytest.mark.parametrize(("name", "code"), CELL_ATTACKS, ids=[a[0] for a in CELL_ATTACKS])
def test_attack_in_an_extra_cell_leaves_a_correct_submission_at_full_marks(tmp_path, name, code):
    """The attack runs unwrapped at the end of the last solution cell (after the functions are defined)."""
    before = {path: _tree_digest(path) for path in HOST_TARGETS}
    assert not any(path.exists() for path in HOST_FORGERIES), "a forgery target exists before the test"
    last = reference_cells("01_layers")["softmax_loss_solution"]
    result = grade_json(build(tmp_path / "sub", replace={"softmax_loss_solution": last + "\n" + code}))
    info = result["tasks"]
    for task in ("affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss"):
        assert info[task]["score"] == info[task]["max_score"], (name, task, info[task]["messages"])
    assert {path: _tree_digest(path) for path in HOST_TARGETS} == before
    assert not any(path.exists() for path in HOST_FORGERIES)


# -- breaches that would pay: the correct answer only if a read or a connection succeeds --------------

PAYS_IF_READ = textwrap.dedent(
    """
    def affine_forward(x, w, b):
        for path in {targets!r}:
            try:
                with open(path, 'rb') as fh:
                    if fh.read(16):
                        return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)
            except OSError:
                pass
        raise ValueError('nothing could be read')
    """
)


def read_targets(tmp_path: Path) -> list[Path]:
    """Host files a submission must not read, all of them real: a gradebook, another student, graders."""
    course = tmp_path / "course"
    course.mkdir()
    with sqlite3.connect(course / "gradebook.db") as db:
        db.execute("create table grade (student text, score real)")
        db.execute("insert into grade values ('other', 9.5)")
    other = build(tmp_path / "other-student") / "01_layers.ipynb"
    targets = [course / "gradebook.db", other, ROOT / "grader_tests" / "test_layers.py",
               ROOT / "source" / "mlp" / "01_layers.ipynb", ROOT / "nbgrader_config.py"]
    assert all(path.read_bytes() for path in targets), "every target must exist on the host"
    return targets


def test_reading_the_gradebook_graders_or_another_student_would_pay_but_reads_nothing(tmp_path, honest):
    code = PAYS_IF_READ.format(targets=[str(p) for p in read_targets(tmp_path)])
    assert attacked(tmp_path / "attack", replace={"affine_forward_solution": code}) == honest("raises")


def test_the_read_attack_does_pay_when_its_target_is_visible(tmp_path):
    """Control: the same code with a file the sandbox does show (read-only system) gets full marks."""
    code = PAYS_IF_READ.format(targets=["/usr/lib/os-release"])
    assert attacked(tmp_path, replace={"affine_forward_solution": code})["affine_forward"] == 2.0


def test_connecting_to_the_host_would_pay_but_connects_nowhere(tmp_path, honest, host_listener):
    port, greeting = host_listener
    addresses = ["127.0.0.1", socket.gethostbyname(socket.gethostname())]
    for address in addresses:  # the targets are real
        with socket.create_connection((address, port), timeout=2) as conn:
            assert conn.recv(64).decode() == greeting
    code = textwrap.dedent(
        f"""
        import socket
        def affine_forward(x, w, b):
            for address in {addresses!r}:
                try:
                    with socket.create_connection((address, {port}), timeout=1) as conn:
                        if conn.recv(64) == {greeting.encode()!r}:
                            return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)
                except OSError:
                    pass
            raise ValueError('no connection')
        """
    )
    assert attacked(tmp_path, replace={"affine_forward_solution": code}) == honest("raises")


def test_an_object_whose_unpickling_runs_code_never_runs_on_the_host(tmp_path, honest):
    marker = tmp_path / "unpickled-on-the-host"
    code = textwrap.dedent(
        f"""
        import os
        class Evil:
            def __reduce__(self):
                return (os.system, ('touch {marker}',))
        def affine_forward(x, w, b):
            return Evil(), (x, w, b)
        """
    )
    assert attacked(tmp_path / "attack", replace={"affine_forward_solution": code}) == honest("raises")
    assert not marker.exists()


def test_a_submission_that_returns_its_inputs_earns_no_guard_credit_and_partial_work_earns_a_share(tmp_path):
    """relu_forward returns x untouched: it passes the "does not modify its input" guard only, so 0.
    relu_backward is right in float64 and wrong in float32: a partial score, points x passed / checks."""
    replace = {
        "relu_forward_solution": "def relu_forward(x):\n    return x.copy(), x\n",
        "relu_backward_solution": (
            "def relu_backward(dout, cache):\n"
            "    return np.where(cache > 0, dout, 0).astype(np.float64)\n"
        ),
    }
    info = grade_json(build(tmp_path / "sub", replace=replace))["tasks"]
    forward, backward = info["relu_forward"], info["relu_backward"]
    assert forward["score"] == 0.0 and forward["passed"] == 0, forward
    assert any("side-effect checks count only" in m for m in forward["messages"]), forward["messages"]
    checks = backward["passed"] + backward["failed"]
    assert 0 < backward["passed"] < checks, backward
    assert backward["score"] == round(backward["max_score"] * backward["passed"] / checks, 4)
