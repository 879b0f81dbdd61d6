"""One budget per submission: what a hostile submission can take from the host is bounded by the kernel.

Each attack runs while its notebook loads, graded *beside* (at the same time as) an honest submission
that must keep its exact score; meanwhile the host is sampled from outside (tests/hostgrowth.py) and its
peak growth must stay below the submission's budget. Without the budget, the same attacks grow the
host by what they ask for (docs/threat-model.md, "Resource budget", has the figures before and after).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlplab.sandbox.host import budget
from mlplab.sandbox.host.launch import Limits, sandbox_uid

from .helpers.attacks import fill_files, hold_memory
from .helpers.cli import grade_json
from .helpers.hostgrowth import GrowthMeter
from .helpers.paths import ROOT
from .helpers.slots import slot
from .helpers.submissions import build, scores

pytestmark = [pytest.mark.needs_root]

FULL_01 = {
    "affine_forward": 2.0, "affine_backward": 3.0, "relu_forward": 1.0, "relu_backward": 2.0, "softmax_loss": 3.0,
}

# 60 MB files until the filesystem refuses one, up to 8 per place
FILL = fill_files((".", "/tmp", "/dev/shm"))

# four children of the worker each touch 400 MB and hold it while the submission is graded
HOLD = hold_memory(children=4, mb=400)


def grade_beside(attack: Path, honest: Path, env: dict[str, str]) -> tuple[dict, dict, dict[str, float]]:
    """Grade both submissions at once (own slots); their results and the host's peak growth in MiB."""
    procs = []
    with GrowthMeter(uids={sandbox_uid(slot(4)), sandbox_uid(slot(5))}) as meter:
        for k, path in enumerate((attack, honest)):
            full_env = dict(os.environ, MLPLAB_SANDBOX_SLOT=str(slot(4 + k)), **env)
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "mlplab", "grade", str(path), "--json"],
                cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            ))
        outs = [proc.communicate(timeout=600) for proc in procs]
    for proc, (_, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err[-2000:]
    return json.loads(outs[0][0]), json.loads(outs[1][0]), meter.growth_mb()


def needs_cgroup() -> None:
    why = budget.probe(64)
    if why:
        pytest.skip(f"this kernel gives no memory cgroup here ({why}); the budget is the rlimits and tmpfs only")


def test_disk_and_tmpfs_fill_stay_in_the_sized_tmpfs_and_the_honest_neighbour_keeps_its_score(tmp_path):
    limits = Limits()
    attack = build(tmp_path / "attack" / "01_layers", prepend={"relu_forward_solution": FILL}) / "01_layers.ipynb"
    honest = build(tmp_path / "honest") / "01_layers.ipynb"
    attacked, neighbour, growth = grade_beside(attack, honest, {})
    assert scores(neighbour) == FULL_01
    assert scores(attacked) == FULL_01, "the attack only fills its own tmpfs: its functions still load"
    # the attack asks for 3 x 480 MB; it gets the scratch, /tmp and /dev/shm tmpfs of one sandbox. These are
    # host-wide figures, which other work on the machine moves too: the margins (128 MB) leave room for that
    # and stay far below what the attack asks for (480 MB of disk, 1,440 MB in all)
    tmpfs_total = limits.scratch_mb + 2 * limits.tmp_mb
    assert growth["disk"] < 128, f"the host's disk grew by {growth['disk']} MB"
    assert growth["shmem"] < tmpfs_total + 128, f"the host's shared memory grew by {growth['shmem']} MB"


def test_memory_held_by_a_submissions_processes_stays_inside_its_budget(tmp_path):
    needs_cgroup()
    budget_mb = 640
    attack = build(tmp_path / "attack", prepend={"relu_forward_solution": HOLD}) / "01_layers.ipynb"
    honest = build(tmp_path / "honest") / "01_layers.ipynb"
    attacked, neighbour, growth = grade_beside(attack, honest, {"MLPLAB_MEMORY_MB": str(budget_mb)})
    assert scores(neighbour) == FULL_01
    # 4 x 400 MB asked for (1.6 GB): the kernel kills children of the attacking worker at 640 MB. Measured
    # on the host as the resident memory of both submissions' sandbox processes (the honest one's about
    # 150 MB), not as the host's memory in use, which other users of a shared machine move too
    assert growth["sandbox_rss"] < budget_mb + 300, f"the sandboxes' resident memory grew by {growth['sandbox_rss']} MB"
    assert sum(scores(attacked).values()) <= sum(FULL_01.values())


def test_page_cache_of_files_read_counts_against_the_budget_and_is_reclaimed_not_fatal(tmp_path):
    needs_cgroup()
    # reading the virtualenv's libraries (PyTorch: GBs) fills page cache charged to the submission's
    # cgroup; at its limit the kernel reclaims that cache instead of killing the worker
    read_all = textwrap.dedent(
        f"""
        import os, time
        _seen, _until = 0, time.monotonic() + 6
        for _dir, _, _files in os.walk({str(Path(sys.prefix).resolve())!r}):
            for _name in _files:
                try:
                    with open(os.path.join(_dir, _name), 'rb') as _fh:
                        while _chunk := _fh.read(2**22):
                            _seen += len(_chunk)
                except OSError:
                    pass
            if _seen > 1000 * 2**20 or time.monotonic() > _until:
                break
        """
    )
    attack = build(tmp_path / "attack", prepend={"relu_forward_solution": read_all}) / "01_layers.ipynb"
    honest = build(tmp_path / "honest") / "01_layers.ipynb"
    attacked, neighbour, _ = grade_beside(attack, honest, {"MLPLAB_MEMORY_MB": "400"})
    assert scores(neighbour) == FULL_01
    assert scores(attacked) == FULL_01, attacked["errors"]


def test_a_symlinked_virtualenv_grades_normally(tmp_path):
    venv = tmp_path / "link-to-venv"
    venv.symlink_to(Path(sys.prefix).resolve(), target_is_directory=True)
    submission = build(tmp_path / "sub") / "01_layers.ipynb"
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "mlplab", "grade", str(submission), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert scores(json.loads(proc.stdout)) == FULL_01


def test_a_symlinked_course_directory_grades_normally(tmp_path, monkeypatch):
    course = tmp_path / "link-to-course"
    course.symlink_to(ROOT, target_is_directory=True)
    monkeypatch.setenv("MLPLAB_COURSE_ROOT", str(course))
    submission = build(tmp_path / "sub") / "01_layers.ipynb"
    assert scores(grade_json(submission)) == FULL_01


def test_without_a_cgroup_grading_works_and_says_once_which_guarantee_is_missing(tmp_path):
    """No cgroup filesystem at all (as in some containers): the CLI warns once, grades fully."""
    submission = build(tmp_path / "sub") / "01_layers.ipynb"
    script = textwrap.dedent(
        f"""
        import sys
        from mlplab.sandbox.host import budget
        budget._mounts = lambda: []
        from mlplab.grading.runner import grade_path
        for _ in range(2):
            print(grade_path({str(submission)!r}).score)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["11.0", "11.0"]
    warnings = [line for line in proc.stderr.splitlines() if "memory budget" in line]
    assert len(warnings) == 1, proc.stderr
    assert "NOT enforced" in warnings[0] and "no cgroup" in warnings[0]


def test_the_cgroup_of_a_killed_grading_process_is_removed_by_the_next_one():
    needs_cgroup()
    made, _ = budget.create(64)
    stale = made.path.with_name("mlplab-999999999-0")  # no such pid: a grading process that was killed
    made.path.rename(stale)  # cgroupfs allows renaming a cgroup directory
    fresh, _ = budget.create(64)
    try:
        assert not stale.exists()
    finally:
        fresh.close()


def _fake_v2(tmp_path: Path, monkeypatch, controllers: str) -> Path:
    """A cgroup v2 hierarchy in a plain directory, holding the grading process in /grader."""
    root = tmp_path / "cgroup2"
    own = root / "grader"
    own.mkdir(parents=True)
    (own / "cgroup.controllers").write_text(controllers + "\n")
    (own / "cgroup.subtree_control").write_text("\n")
    monkeypatch.setattr(budget, "_mounts", lambda: [(str(root), "cgroup2", set())])
    monkeypatch.setattr(budget, "_own_paths", lambda: {"": "/grader"})
    return own


def test_cgroup_v2_is_used_where_the_memory_controller_is_delegated(tmp_path, monkeypatch):
    own = _fake_v2(tmp_path, monkeypatch, "cpu memory pids")
    made, why = budget.create(300)
    assert why == "" and made is not None and made.version == 2 and made.path.parent == own
    assert (made.path / "memory.max").read_text() == str(300 * 2**20)
    assert "memory" in (own / "cgroup.subtree_control").read_text()
    assert made.procs_file == str(made.path / "cgroup.procs")


def test_without_a_delegated_memory_controller_the_reason_is_given(tmp_path, monkeypatch):
    _fake_v2(tmp_path, monkeypatch, "cpu pids")
    made, why = budget.create(300)
    assert made is None
    assert "memory controller is not delegated" in why and "no cgroup v1 memory hierarchy" in why
