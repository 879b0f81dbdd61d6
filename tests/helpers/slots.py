"""Sandbox slots (uid 62000 + slot, and the RLIMIT_NPROC that counts per uid) of this xdist worker.

Every xdist worker gets a range of its own, so tests running in parallel never share a uid or a process limit,
and a test that looks for leftover processes looks only at its own range. $MLPLAB_SLOT_BASE moves all ranges.
"""

from __future__ import annotations

import os

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
