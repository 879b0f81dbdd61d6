"""The student side of grading: a namespace of submitted code and the objects it made.

A :class:`Session` executes code units (see :mod:`mlplab.notebooks`) into
one namespace and answers operations from the graders: call a function, call a
method, read an attribute, store or fetch a value. Results are converted to
plain values; anything that is not plain (a model, a solver, an opaque cache)
is kept here and returned as a :class:`~mlplab.sandbox.values.Handle`.

This module runs *next to untrusted code* (inside the sandboxed worker, or in
the student's kernel for stock nbgrader), so nothing it returns is trusted: the
grading process compares the values it receives against expectations it
computed itself.
"""

from __future__ import annotations

import traceback
from typing import Any

import numpy as np

from mlplab.notebooks import CodeUnit
from mlplab.sandbox.values import Handle, load_error_text

MAX_ERROR_CHARS = 300
PREAMBLE = "import numpy as np\n"


def describe_exception(exc: BaseException) -> dict:
    """A short, value-only description of an exception raised by student code."""
    message = str(exc)
    if len(message) > MAX_ERROR_CHARS:
        message = message[:MAX_ERROR_CHARS] + "..."
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith("<submission"):
            line = f"{frame.filename[1:-1]}, line {frame.lineno}"
    return {"type": type(exc).__name__, "message": message, "where": line}


class Session:
    """Namespace + object table for one grading unit (one notebook, one task group)."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {"__name__": "submission", "__builtins__": __builtins__}
        self.objects: dict[int, Any] = {}
        self.load_errors: list[str] = []
        self._next_id = 1
        exec(compile(PREAMBLE, "<preamble>", "exec"), self.namespace)

    # -- code -------------------------------------------------------------
    def exec_unit(self, label: str, source: str) -> dict | None:
        """Execute one code unit; return an error description or None."""
        try:
            code = compile(source, f"<submission {label}>", "exec")
            exec(code, self.namespace)
        except BaseException as exc:  # noqa: BLE001 - student code may raise anything, sys.exit too
            info = describe_exception(exc)
            self.load_errors.append(load_error_text(label, info["type"], info["message"], MAX_ERROR_CHARS))
            return info
        return None

    def load(self, units: list[CodeUnit]) -> list[str]:
        """Execute ``units`` in order; a failing unit does not stop the others."""
        for unit in units:
            self.exec_unit(unit.label, unit.source)
        return list(self.load_errors)

    # -- values and handles -------------------------------------------------
    def _store(self, obj: Any) -> Handle:
        handle = Handle(self._next_id, type(obj).__name__)
        self.objects[handle.id] = obj
        self._next_id += 1
        return handle

    def to_plain(self, obj: Any, depth: int = 0) -> Any:
        """Convert a result to plain values, storing non-plain parts as handles."""
        if depth > 16:
            return self._store(obj)
        if obj is None or type(obj) in (bool, int, float, str, complex):
            return obj
        if isinstance(obj, np.generic) and type(obj).__module__ == "numpy":
            return obj.item()
        if isinstance(obj, np.ndarray):
            plain = np.array(obj.view(np.ndarray), copy=True)
            if plain.dtype.kind in "biufc":
                return plain
            return self._store(obj)
        if type(obj) is tuple:
            return tuple(self.to_plain(v, depth + 1) for v in obj)
        if type(obj) is list:
            return [self.to_plain(v, depth + 1) for v in obj]
        if type(obj) is dict and all(type(k) is str for k in obj):
            return {k: self.to_plain(v, depth + 1) for k, v in obj.items()}
        return self._store(obj)

    def from_plain(self, value: Any) -> Any:
        """Replace handles in an incoming value by the objects they name."""
        if isinstance(value, Handle):
            if value.id not in self.objects:
                raise LookupError(f"unknown object handle {value.id}")
            return self.objects[value.id]
        if isinstance(value, tuple):
            return tuple(self.from_plain(v) for v in value)
        if isinstance(value, list):
            return [self.from_plain(v) for v in value]
        if isinstance(value, dict):
            return {k: self.from_plain(v) for k, v in value.items()}
        return value

    def _target(self, target: Any) -> Any:
        if isinstance(target, str):
            if target not in self.namespace:
                raise NameError(f"name '{target}' is not defined")
            return self.namespace[target]
        return self.from_plain(target)

    # -- operations ---------------------------------------------------------
    def dispatch(self, op: str, args: dict) -> Any:
        """Run one grader operation; student exceptions propagate to the caller."""
        if op == "has":
            return args["name"] in self.namespace
        if op == "load_errors":
            return list(self.load_errors)
        if op == "call":
            fn = self._target(args["target"])
            result = fn(*self.from_plain(args.get("args", [])), **self.from_plain(args.get("kwargs", {})))
            return self.to_plain(result)
        if op == "method":
            obj = self._target(args["target"])
            fn = getattr(obj, args["name"])
            result = fn(*self.from_plain(args.get("args", [])), **self.from_plain(args.get("kwargs", {})))
            return self.to_plain(result)
        if op == "getattr":
            return self.to_plain(getattr(self._target(args["target"]), args["name"]))
        if op == "setattr":
            setattr(self._target(args["target"]), args["name"], self.from_plain(args["value"]))
            return None
        if op == "put":
            return self._store(self.from_plain(args["value"]))
        if op == "get":
            return self.to_plain(self._target(args["target"]))
        if op == "release":
            self.objects.pop(args["target"].id, None)
            return None
        raise ValueError(f"unknown operation {op!r}")
