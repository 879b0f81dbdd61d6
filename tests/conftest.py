"""Shared fixtures of the project's own tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "source" / "mlp"
RELEASE = ROOT / "release" / "mlp"
SOLUTIONS = ROOT / "solutions" / "mlp"


def data_dir() -> Path:
    """Real datasets (../shared/data by default, or $MLPLAB_DATA)."""
    return Path(os.environ.get("MLPLAB_DATA", ROOT.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def data() -> Path:
    path = data_dir()
    assert (path / "mnist").is_dir(), f"real data not found at {path}: set MLPLAB_DATA"
    return path


def run_mlplab(*args: str, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the `mlplab` CLI of this checkout in a subprocess."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "mlplab", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


def grade_json(path: Path | str, *extra: str) -> dict:
    """`mlplab grade PATH --json` as a dict (asserting the contract: one JSON object, exit 0)."""
    proc = run_mlplab("grade", str(path), "--json", *extra)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected exactly one JSON line, got: {proc.stdout[:2000]}"
    return json.loads(lines[0])


def source_notebooks() -> list[Path]:
    return sorted(SOURCE.glob("*.ipynb"))
