"""Shared fixtures of the project's own tests (helpers that tests import live in tests/helpers/)."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from .helpers.paths import data_dir
from .helpers.slots import AUTOGRADE_SLOTS, slot


@pytest.fixture(autouse=True)
def own_sandbox_slots(monkeypatch):
    """Each test grades in this worker's slot range (environment restored after the test)."""
    monkeypatch.setenv("MLPLAB_SANDBOX_SLOT", str(slot(0)))
    monkeypatch.setenv("MLPLAB_SLOT_BASE", str(slot(AUTOGRADE_SLOTS)))


@pytest.fixture(scope="session")
def data() -> Path:
    path = data_dir()
    assert (path / "mnist").is_dir(), f"real data not found at {path}: set MLPLAB_DATA"
    return path


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
