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
from pathlib import Path

from mlplab.course.tasks import ASSIGNMENT, course_root

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


def generate(root: Path | None = None, db_url: str | None = None) -> None:
    """Regenerate release/ and solutions/ of the assignment from source/."""
    root = (root or course_root()).resolve()
    for folder in ("release", "solutions"):
        shutil.rmtree(root / folder / ASSIGNMENT, ignore_errors=True)
    nbgrader(root, "generate_assignment", ASSIGNMENT, "--force", db_url=db_url)
    nbgrader(root, "generate_solution", ASSIGNMENT, "--force", db_url=db_url)


def scratch_course(destination: Path, root: Path | None = None) -> Path:
    """Copy the parts of the course nbgrader needs (config + source) into ``destination``."""
    root = (root or course_root()).resolve()
    destination.mkdir(parents=True, exist_ok=True)
    for name in COURSE_FILES:
        shutil.copy2(root / name, destination / name)
    shutil.copytree(
        root / "source", destination / "source", ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    )
    return destination
