"""Hostile code a submission runs while its notebook loads, shared by the budget tests and
benchmarks/attack_growth.py (so the benchmark measures exactly what the tests assert)."""

from __future__ import annotations

import textwrap


def fill_files(places: tuple[str, ...], count: int = 8) -> str:
    """Write 60 MB files (under the 64 MB file-size limit) into each of ``places`` until the filesystem
    refuses one, at most ``count`` per place."""
    return textwrap.dedent(
        f"""
        import os
        for _place in {places!r}:
            for _i in range({count}):
                try:
                    with open(f'{{_place}}/fill{{os.getpid()}}-{{_i}}.bin', 'wb') as _fh:
                        for _ in range(60):
                            _fh.write(b'x' * 2**20)
                except OSError:
                    break
        """
    )


def hold_memory(children: int, mb: int) -> str:
    """Fork ``children`` children of the worker that each touch ``mb`` MB and hold it for 40 s; the
    parent waits until every child holds its memory or was killed (at most 12 s: the load cap is 15 s)."""
    return textwrap.dedent(
        f"""
        import os, time
        import numpy as np
        _ready_r, _ready_w = os.pipe()
        _children = []
        for _ in range({children}):
            try:
                _pid = os.fork()
            except OSError:
                break
            if _pid == 0:
                try:
                    _held = np.ones({mb} * 2**20 // 8)
                    os.write(_ready_w, b'1')
                    time.sleep(40)
                finally:
                    os._exit(0)
            _children.append(_pid)
        os.set_blocking(_ready_r, False)
        _ready, _dead, _until = 0, set(), time.monotonic() + 12
        while _ready + len(_dead) < len(_children) and time.monotonic() < _until:
            try:
                _ready += len(os.read(_ready_r, 64))
            except BlockingIOError:
                pass
            _dead.update(p for p in _children if p not in _dead and os.waitpid(p, os.WNOHANG)[0])
            time.sleep(0.05)
        """
    )
