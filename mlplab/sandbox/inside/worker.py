"""The student worker's request loop (run inside the sandbox).

A worker is a child forked by the submission's zygote (:mod:`mlplab.sandbox.inside.zygote`), which hands it a
private socket to the grading process. The grading process writes length-prefixed JSON requests on
it and reads the replies. Before any student code runs, fds 0/1/2 point at ``/dev/null``, so prints,
megabytes of output or fake "All tests passed" text cannot reach the channel by accident. Student code can
still reach the channel on purpose; that only lets it choose the values it
answers with, which the grading process checks anyway.

Requests: ``{"op": "exec", "label": str, "source": str}`` or any operation of
:meth:`mlplab.sandbox.inside.session.Session.dispatch` with encoded arguments.
Replies: ``{"ok": value}`` or ``{"error": {"type", "message", "where"}}``.
"""

from __future__ import annotations

from typing import BinaryIO


def serve(reader: BinaryIO, writer: BinaryIO) -> None:
    """Answer requests read from ``reader`` on ``writer`` until the grading process closes the channel."""
    from mlplab.sandbox.inside.session import Session, describe_exception
    from mlplab.sandbox.values import ChannelError, decode, encode, read_message, write_message

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
