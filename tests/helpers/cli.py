"""The ``mlplab`` command of this checkout, run in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .paths import ROOT


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


def run_in(cwd: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """`mlplab ARGS` run from ``cwd``, as an instructor would type it (no MLPLAB_COURSE_ROOT)."""
    env = {k: v for k, v in os.environ.items() if k != "MLPLAB_COURSE_ROOT"}
    return subprocess.run(
        [sys.executable, "-m", "mlplab", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def one_sentence(proc: subprocess.CompletedProcess) -> str:
    """The one line a command printed on stderr, asserting exit status 2 and no traceback."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and len(lines) == 1, proc.stderr
    return lines[0]
