"""The ``mlplab serve`` and ``mlplab hub`` commands (argument parsing and entry points)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from mlplab.extras import require


def add_service_commands(sub, *, serve, hub) -> None:
    """Add ``serve`` and ``hub`` to the ``mlplab`` parser's subcommands."""
    srv = sub.add_parser("serve", help="the JupyterHub grading service: grade every submission on arrival")
    srv.add_argument(
        "--course",
        default=argparse.SUPPRESS,
        help="course directory (default: $MLPLAB_COURSE_ROOT or the current course)",
    )
    srv.add_argument("--exchange", help="nbgrader exchange root (default: the course config's Exchange.root)")
    srv.add_argument("--port", type=int, help="port on 127.0.0.1 (default: from $JUPYTERHUB_SERVICE_URL)")
    srv.add_argument("--rescan", type=float, default=10.0, help="seconds between safety-net rescans (default 10)")
    srv.set_defaults(func=serve)

    demo = sub.add_parser("hub", help="a local JupyterHub with the course and the grading service")
    demo.add_argument("--demo", action="store_true", required=True, help="start the demo hub (loopback only)")
    demo.add_argument("--dir", default="hub-demo", help="folder for the demo's course, exchange and hub state")
    demo.add_argument("--port", type=int, default=8000, help="hub port on 127.0.0.1 (default 8000)")
    demo.add_argument("--attempts", type=int, help="graded attempts per 24 h (default: the course config's, 3)")
    demo.set_defaults(func=hub)


def _exchange_of(root: Path) -> Path:
    from mlplab.course.gradebook import course_config

    config = course_config(root)
    return Path(config.get("Exchange", {}).get("root", "/srv/nbgrader/exchange"))


def serve_command(args: argparse.Namespace) -> int:
    require("mlplab serve", "jupyterhub", "watchfiles")
    from mlplab.coursedir import course_root
    from mlplab.service.app import serve
    from mlplab.service.policy import PolicyError

    logging.basicConfig(level=logging.INFO, format="[mlplab serve %(asctime)s] %(message)s", stream=sys.stderr)
    if getattr(args, "course", None):
        os.environ["MLPLAB_COURSE_ROOT"] = str(Path(args.course).resolve())
    try:
        root = course_root()
        exchange = Path(args.exchange) if args.exchange else _exchange_of(root)
        asyncio.run(serve(root, exchange, port=args.port, rescan_s=args.rescan))
    except (FileNotFoundError, PolicyError) as exc:
        print(f"mlplab serve: {exc}", file=sys.stderr)
        return 2
    # Stopped (SIGTERM from the hub): leave now rather than wait for a grading thread's job. Every state
    # change is already committed; an attempt that was running is re-queued by the next start.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def hub_command(args: argparse.Namespace) -> int:
    require("mlplab hub", "jupyterhub", "watchfiles")
    from mlplab.service.hub import run_demo

    return run_demo(Path(args.dir), args.port, attempts=args.attempts)
