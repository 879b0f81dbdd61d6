"""The checkout's folders, its source notebooks, and the real datasets."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "source" / "mlp"
RELEASE = ROOT / "release" / "mlp"
SOLUTIONS = ROOT / "solutions" / "mlp"


def source_notebooks() -> list[Path]:
    return sorted(SOURCE.glob("*.ipynb"))


def data_dir() -> Path:
    """Real datasets (../shared/data by default, or $MLPLAB_DATA)."""
    return Path(os.environ.get("MLPLAB_DATA", ROOT.parent / "shared" / "data")).resolve()
