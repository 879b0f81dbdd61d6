"""Shared fixtures of the project's own tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "source" / "mlp"
RELEASE = ROOT / "release" / "mlp"
SOLUTIONS = ROOT / "solutions" / "mlp"


# Sandbox slots (uid 62000 + slot, and the RLIMIT_NPROC that counts per uid): every xdist worker gets
# a range of its own, so tests running in parallel never share a uid or a process limit, and a test
# that looks for leftover processes looks only at its own range. $MLPLAB_SLOT_BASE moves all ranges.
SLOTS_PER_WORKER = 50
AUTOGRADE_SLOTS = 20  # slots 20..49 of a range: `mlplab autograde` jobs (MLPLAB_SLOT_BASE of the test)


def _xdist_index() -> int:
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name[2:]) if name.startswith("gw") and name[2:].isdigit() else 0


FIRST_SLOT = int(os.environ.get("MLPLAB_SLOT_BASE", "0")) + SLOTS_PER_WORKER * _xdist_index()


def slot(k: int) -> int:
    """Slot ``k`` (0 <= k < SLOTS_PER_WORKER) of this xdist worker's own range."""
    assert 0 <= k < SLOTS_PER_WORKER, k
    return FIRST_SLOT + k


def slot_uids() -> range:
    """The sandbox uids of this xdist worker's range."""
    from mlplab.sandbox.host.launch import sandbox_uid

    return range(sandbox_uid(slot(0)), sandbox_uid(slot(SLOTS_PER_WORKER - 1)) + 1)


@pytest.fixture(autouse=True)
def own_sandbox_slots(monkeypatch):
    """Each test grades in this worker's slot range (environment restored after the test)."""
    monkeypatch.setenv("MLPLAB_SANDBOX_SLOT", str(slot(0)))
    monkeypatch.setenv("MLPLAB_SLOT_BASE", str(slot(AUTOGRADE_SLOTS)))


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


@pytest.fixture
def host_listener():
    """A TCP listener on all of the host's addresses that greets every connection: (port, greeting).

    The target of the network-escape tests: a sandbox that could reach the host would read the greeting.
    """
    server = socket.create_server(("0.0.0.0", 0))
    greeting = f"host-secret-{os.getpid()}"

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(greeting.encode())

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1], greeting
    server.close()
