"""A scratch course with the committed release registered in its own SQLite gradebook, and submissions to it."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mlplab.course.generate import nbgrader

from .paths import ROOT
from .submissions import build

STEMS = ("01_layers", "02_normalization")


def make_course(folder: Path) -> tuple[Path, str]:
    """A scratch course with the committed release registered in its own SQLite gradebook."""
    folder.mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", folder)
    for part in ("source", "grader_tests", "release"):
        shutil.copytree(ROOT / part, folder / part, ignore=shutil.ignore_patterns("__pycache__"))
    db_url = f"sqlite:///{folder / 'gradebook.db'}"
    nbgrader(folder, "generate_assignment", "mlp", "--force", db_url=db_url)
    return folder, db_url


def submit(course: Path, student: str, when: datetime | None = None, **kwargs) -> Path:
    """``student``'s submission (notebooks ``stems``, default 01 and 02; ``build``'s options) at ``when``."""
    folder = build(course / "submitted" / student / "mlp", stems=kwargs.pop("stems", STEMS), **kwargs)
    when = when or datetime.now(UTC) - timedelta(days=1)
    (folder / "timestamp.txt").write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
    return folder
