"""Student code that forks until the process limit says no, and the wait for a sandbox uid's processes to end."""

from __future__ import annotations

import subprocess
import textwrap
import time

# student code: forks() makes sleeping children until the process limit refuses one; returns how many it made
FORK_LOOP = textwrap.dedent(
    """
    import os, time
    def forks():
        n = 0
        try:
            for _ in range(10000):
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                n += 1
        except OSError:
            pass
        return n
    """
)


def sandbox_uid_processes_gone(uid: int, wait_s: float = 5.0) -> bool:
    """True once no process of ``uid`` is left (the pid namespace is torn down asynchronously)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if not subprocess.run(["pgrep", "-u", str(uid)], capture_output=True, text=True).stdout.split():
            return True
        time.sleep(0.1)
    return False
