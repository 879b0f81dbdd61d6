"""The value-only channel between the grading process and a student worker.

Only plain data crosses the process boundary: ``None``, ``bool``, ``int``,
``float``, ``complex``, ``str``, numeric or boolean numpy arrays, and
lists / tuples / string-keyed dicts of these. Everything else stays inside the
worker and is represented by a :class:`Handle` (an opaque id).

Messages are length-prefixed JSON; arrays travel as raw little-endian bytes
with an explicit dtype from a whitelist, and are rebuilt with
``np.frombuffer`` — never with pickle — so a hostile worker can send wrong
numbers but cannot make the grading process run code.
"""

from __future__ import annotations

import base64
import json
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

MAX_MESSAGE_BYTES = 512 * 1024 * 1024
MAX_DEPTH = 32
ALLOWED_DTYPES = frozenset("<b1 |b1 <i1 |i1 <i2 <i4 <i8 |u1 <u1 <u2 <u4 <u8 <f2 <f4 <f8 <c8 <c16".split())


class ChannelError(RuntimeError):
    """A message could not be encoded, decoded or transported."""


@dataclass(frozen=True)
class Handle:
    """Opaque reference to an object that lives in the worker (a model, a cache...)."""

    id: int
    type_name: str

    def __repr__(self) -> str:
        return f"<{self.type_name} in student code>"


def _encode_array(arr: np.ndarray) -> dict:
    arr = np.ascontiguousarray(np.asarray(arr))
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    dtype = arr.dtype.str
    if dtype not in ALLOWED_DTYPES:
        raise ChannelError(f"arrays of dtype {arr.dtype} cannot be sent")
    return {
        "__nd__": base64.b64encode(arr.tobytes()).decode("ascii"),
        "dtype": dtype,
        "shape": list(arr.shape),
    }


def _decode_array(obj: dict) -> np.ndarray:
    dtype = obj.get("dtype")
    shape = obj.get("shape")
    if dtype not in ALLOWED_DTYPES or not isinstance(shape, list):
        raise ChannelError("malformed array in message")
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ChannelError("malformed array shape in message")
    raw = base64.b64decode(obj["__nd__"], validate=True)
    arr = np.frombuffer(raw, dtype=np.dtype(dtype))
    if arr.size != int(np.prod(shape, dtype=np.int64)):
        raise ChannelError("array size does not match its shape")
    return arr.reshape(shape).copy()


def encode(value: Any, _depth: int = 0) -> Any:
    """Turn a plain value (see module docstring) into JSON-ready data."""
    if _depth > MAX_DEPTH:
        raise ChannelError("value is nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Handle):
        return {"__handle__": value.id, "type": value.type_name}
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (complex, np.complexfloating)):
        return {"__complex__": [float(value.real), float(value.imag)]}
    if isinstance(value, np.ndarray):
        return _encode_array(value)
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, _depth + 1) for v in value]}
    if isinstance(value, list):
        return [encode(v, _depth + 1) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ChannelError("only dicts with string keys can be sent")
        return {"__dict__": {k: encode(v, _depth + 1) for k, v in value.items()}}
    raise ChannelError(f"values of type {type(value).__name__} cannot be sent")


def decode(data: Any, _depth: int = 0) -> Any:
    """Inverse of :func:`encode`; builds only plain values and Handles."""
    if _depth > MAX_DEPTH:
        raise ChannelError("message is nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v, _depth + 1) for v in data]
    if isinstance(data, dict):
        if "__nd__" in data:
            return _decode_array(data)
        if "__tuple__" in data and isinstance(data["__tuple__"], list):
            return tuple(decode(v, _depth + 1) for v in data["__tuple__"])
        if "__dict__" in data and isinstance(data["__dict__"], dict):
            return {str(k): decode(v, _depth + 1) for k, v in data["__dict__"].items()}
        if "__handle__" in data and isinstance(data["__handle__"], int):
            return Handle(int(data["__handle__"]), str(data.get("type", "object"))[:80])
        if "__complex__" in data:
            re, im = data["__complex__"]
            return complex(float(re), float(im))
    raise ChannelError("malformed value in message")


def write_message(stream: BinaryIO, message: dict) -> None:
    """Write one length-prefixed JSON message and flush."""
    body = json.dumps(message, allow_nan=True).encode("utf-8")
    if len(body) > MAX_MESSAGE_BYTES:
        raise ChannelError("message too large")
    stream.write(struct.pack("<Q", len(body)) + body)
    stream.flush()


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    """Read exactly ``size`` bytes (raw pipes return short reads)."""
    chunks = []
    while size > 0:
        chunk = stream.read(min(size, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_message(stream: BinaryIO) -> dict:
    """Read one length-prefixed JSON message; ChannelError on EOF or garbage."""
    header = _read_exact(stream, 8)
    if len(header) != 8:
        raise ChannelError("worker closed the channel")
    (size,) = struct.unpack("<Q", header)
    if size > MAX_MESSAGE_BYTES:
        raise ChannelError("worker sent an oversized message")
    body = _read_exact(stream, size)
    if len(body) != size:
        raise ChannelError("worker closed the channel mid-message")
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ChannelError("worker sent a malformed message") from None
    if not isinstance(message, dict):
        raise ChannelError("worker sent a malformed message")
    return message


def load_error_text(label: str, kind: object, message: object, limit: int = 200) -> str:
    """One line for a cell that raised while it was loaded: ``label: Type: message``.

    A cell that still raises ``NotImplementedError`` without a message (nbgrader's stub) says so in words
    instead of ending in an empty ``NotImplementedError: ``.
    """
    text = str(message or "").strip()
    if kind == "NotImplementedError" and not text:
        return f"{label}: not answered yet (the cell still raises NotImplementedError)"
    if not text:
        return f"{label}: {kind}"
    if len(text) > limit:
        cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
        text = cut + " ..."
    return f"{label}: {kind}: {text}"
