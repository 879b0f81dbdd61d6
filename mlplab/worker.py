"""Entry point of the student worker process (run inside the sandbox).

Protocol: the parent writes length-prefixed JSON requests on the worker's
stdin and reads replies from its stdout. Before any student code runs, the
worker moves the channel to private file descriptors and points fds 0/1/2 at
``/dev/null`` (or a capped log), so prints, megabytes of output or fake
"All tests passed" text cannot reach the channel by accident. Student code can
still reach the channel on purpose; that only lets it choose the values it
answers with, which the grading process checks anyway.

Requests: ``{"op": "exec", "label": str, "source": str}`` or any operation of
:meth:`mlplab.session.Session.dispatch` with encoded arguments.
Replies: ``{"ok": value}`` or ``{"error": {"type", "message", "where"}}``.
"""

from __future__ import annotations

import os
import sys


def _private_channel() -> tuple:
    rfd = os.dup(0)
    wfd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    return os.fdopen(rfd, "rb", buffering=0), os.fdopen(wfd, "wb", buffering=0)


def serve() -> None:
    """Answer requests until the parent closes the channel."""
    reader, writer = _private_channel()
    sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the process
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115

    from mlplab.session import Session, describe_exception
    from mlplab.values import ChannelError, decode, encode, read_message, write_message

    session = Session()
    while True:
        try:
            request = read_message(reader)
        except ChannelError:
            return
        op = request.get("op")
        try:
            if op == "exec":
                error = session.exec_unit(str(request["label"]), str(request["source"]))
                reply = {"ok": encode(error)}
            else:
                args = decode(request.get("args", {}))
                reply = {"ok": encode(session.dispatch(str(op), args))}
        except BaseException as exc:  # noqa: BLE001 - report everything student code raises
            reply = {"error": describe_exception(exc)}
        try:
            write_message(writer, reply)
        except ChannelError as exc:  # an unsendable result, e.g. object-dtype arrays
            write_message(writer, {"error": {"type": "ChannelError", "message": str(exc), "where": None}})


if __name__ == "__main__":
    serve()
