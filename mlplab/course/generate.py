"""Generate the student release and the solutions from ``source/`` with nbgrader.

``release/mlp`` (``nbgrader generate_assignment``) and ``solutions/mlp``
(``nbgrader generate_solution``) are committed; CI regenerates them into a
scratch copy of the course and checks they are identical.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from mlplab.coursedir import ASSIGNMENT, course_root, submitted_file_names

COURSE_FILES = ("nbgrader_config.py",)


def nbgrader(root: Path, *args: str, db_url: str | None = None) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in the course directory ``root``; raise with its log on failure."""
    env = dict(os.environ)
    # nbgrader runs `alembic` from PATH to create or upgrade the gradebook
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    if db_url:
        env["MLPLAB_DB_URL"] = db_url
    exe = Path(sys.executable).with_name("nbgrader")
    cmd = [str(exe) if exe.exists() else "nbgrader", *args]
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"`nbgrader {' '.join(args)}` failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def generate(root: Path | None = None, db_url: str | None = None, progress: bool = False) -> None:
    """Regenerate release/ and solutions/ of the assignment from source/ (and the gradebook's copy of the
    assignment: its notebooks and grade cells). ``progress``: one line per step on stderr."""
    root = (root or course_root()).resolve()
    for folder in ("release", "solutions"):
        shutil.rmtree(root / folder / ASSIGNMENT, ignore_errors=True)
    steps = (
        (f"release/{ASSIGNMENT} and the gradebook (nbgrader generate_assignment)", "generate_assignment"),
        (f"solutions/{ASSIGNMENT} (nbgrader generate_solution)", "generate_solution"),
    )
    for number, (what, command) in enumerate(steps, 1):
        started = time.monotonic()
        if progress:
            print(f"[{number}/{len(steps)}] {what} ...", file=sys.stderr, flush=True)
        nbgrader(root, command, ASSIGNMENT, "--force", db_url=db_url)
        for folder in ("release", "solutions"):
            drop_submitted_files(root / folder / ASSIGNMENT, submitted_file_names(root))
        if progress:
            print(f"[{number}/{len(steps)}] done in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)


def drop_submitted_files(folder: Path, names: tuple[str, ...]) -> None:
    """Remove the instructor's copies of files students submit (``names``, from
    :func:`mlplab.coursedir.submitted_file_names`) that nbgrader copied from source/: an instructor's trained
    model left in source/ by running a notebook there is never shipped (a student would submit it)."""
    for name in names:
        path = folder / name
        if path.is_file() or path.is_symlink():
            path.unlink()


def scratch_course(destination: Path, root: Path | None = None) -> Path:
    """Copy the parts of the course nbgrader needs (config + source) into ``destination``."""
    root = (root or course_root()).resolve()
    destination.mkdir(parents=True, exist_ok=True)
    for name in COURSE_FILES:
        shutil.copy2(root / name, destination / name)
    shutil.copytree(
        root / "source", destination / "source",
        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", *submitted_file_names(root)),
    )
    return destination
