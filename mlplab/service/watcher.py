"""Notice new submissions in nbgrader's exchange: inotify through ``watchfiles``, plus a periodic rescan.

``nbgrader submit`` (and JupyterLab's Assignments panel, which runs it) writes each submission to
``<exchange>/<course_id>/inbound/<student>+<assignment>+<timestamp>+<random>/``. Each event (or every
``rescan_s`` seconds, the safety net for missed events, network filesystems and a service that was
down) triggers :func:`scan`, which records every complete folder not seen before. Folders are only read
(:func:`mlplab.service.grader.copy_submission`), never changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from mlplab.service.grader import GradingService, InboundError
from mlplab.service.queue import Attempt

log = logging.getLogger("mlplab.service")


def inbound_dir(exchange_root: Path, course_id: str) -> Path:
    return exchange_root / course_id / "inbound"


def scan(service: GradingService, inbound: Path) -> list[Attempt]:
    """Record every complete, not yet recorded submission folder; returns the new attempts."""
    if not inbound.is_dir():
        return []
    known = service.queue.known_sources()
    new = []
    for folder in sorted(inbound.iterdir(), key=lambda p: p.name):
        if folder.name in known or folder.name.startswith("."):
            continue
        try:
            if not folder.is_dir() or folder.is_symlink():
                continue
            attempt = service.ingest(folder)
        except InboundError as exc:
            log.warning("skipping %s: %s", folder.name, exc)
            continue
        except OSError as exc:  # one unreadable folder never stops the others
            log.warning("cannot read %s: %s", folder.name, exc)
            continue
        if attempt is not None:
            log.info("attempt %s: %s %s %s", attempt.id, attempt.student, attempt.assignment, attempt.status)
            new.append(attempt)
    return new


async def watch(
    service: GradingService,
    inbound: Path,
    stop: asyncio.Event,
    *,
    rescan_s: float = 10.0,
    on_new: Callable[[list[Attempt]], None] | None = None,
) -> None:
    """Scan on every filesystem event under ``inbound`` and at least every ``rescan_s`` seconds."""
    from watchfiles import awatch

    loop = asyncio.get_running_loop()

    async def rescan() -> None:
        new = await loop.run_in_executor(None, scan, service, inbound)
        if new and on_new is not None:
            on_new(new)

    await rescan()
    while not stop.is_set():
        if not inbound.is_dir():
            await _sleep_or_stop(stop, rescan_s)
            await rescan()
            continue
        try:
            async for _changes in awatch(
                inbound,
                stop_event=stop,
                rust_timeout=int(rescan_s * 1000),
                yield_on_timeout=True,
                debounce=200,
                step=50,
            ):
                await rescan()
        except (OSError, RuntimeError) as exc:  # inotify limits, a removed directory: fall back to polling
            log.warning("watching %s failed (%s); rescanning every %s s", inbound, exc, rescan_s)
            await _sleep_or_stop(stop, rescan_s)
            await rescan()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
