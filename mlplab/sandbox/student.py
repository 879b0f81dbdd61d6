"""What graders hold: a ``Student`` handle on a submission's code.

Graders (``grader_tests/``) only ever see this interface::

    out, cache = student.call("affine_forward", x, w, b)
    dx, dw, db = student.call("affine_backward", dout, cache)
    model = student.call("FullyConnectedNet", [20, 30], input_dim=15)   # -> Handle
    loss, grads = student.method(model, "loss", X, y)
    params = student.attr(model, "params")
    p = student.put({"mode": "train"}); student.call("batchnorm_forward", x, g, b, p); student.get(p)

Arguments and results are plain values (numbers, strings, numeric arrays,
lists / tuples / str-keyed dicts of them); other objects are Handles. Two
implementations exist: :class:`LocalStudent` (in-process, used by stock
``nbgrader autograde``) and :class:`mlplab.sandbox.host.remote_student.RemoteStudent` (a
sandboxed worker process). Both round-trip every value through the channel
encoding, so graders behave identically on both.
"""

from __future__ import annotations

from typing import Any

from mlplab.notebooks import CodeUnit
from mlplab.sandbox.inside.session import Session, describe_exception
from mlplab.sandbox.values import Handle, decode, encode


class StudentError(Exception):
    """Student code raised an exception (or could not be run) during a grader call."""

    def __init__(self, kind: str, message: str, where: str | None = None) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.where = where


class StudentTimeout(StudentError):
    """Student code ran past its time limit and the worker was stopped."""


class StudentCrash(StudentError):
    """The worker process died (os._exit, a signal, memory limit...)."""


class Student:
    """Base class: grader-facing operations expressed through ``_op``."""

    def _op(self, op: str, **args: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def has(self, name: str) -> bool:
        """True when the submission defines ``name``."""
        return bool(self._op("has", name=name))

    def call(self, target: str | Handle, *args: Any, **kwargs: Any) -> Any:
        """Call a function or class of the submission (by name) or a callable Handle."""
        return self._op("call", target=target, args=list(args), kwargs=kwargs)

    def method(self, obj: Handle, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``obj.name(*args, **kwargs)`` inside the submission."""
        return self._op("method", target=obj, name=name, args=list(args), kwargs=kwargs)

    def attr(self, obj: Handle, name: str) -> Any:
        """Read ``obj.name`` (as a plain value or a Handle)."""
        return self._op("getattr", target=obj, name=name)

    def set_attr(self, obj: Handle, name: str, value: Any) -> None:
        """Set ``obj.name = value``."""
        self._op("setattr", target=obj, name=name, value=value)

    def put(self, value: Any) -> Handle:
        """Store a value inside the submission's process (to observe in-place changes)."""
        return self._op("put", value=value)

    def get(self, obj: Handle | str) -> Any:
        """Fetch an object (or a global by name) as a plain value."""
        return self._op("get", target=obj)

    def load_errors(self) -> list[str]:
        """Errors raised while loading the submission's cells."""
        return list(self._op("load_errors"))


def _unpack_error(error: Any) -> StudentError:
    if not isinstance(error, dict):
        return StudentError("Error", "student code failed")
    return StudentError(str(error.get("type", "Error"))[:80], str(error.get("message", ""))[:400], error.get("where"))


class LocalStudent(Student):
    """Runs submission code in this process (stock nbgrader path, development)."""

    def __init__(self, units: list[CodeUnit]) -> None:
        self.session = Session()
        self.session.load(units)

    def _op(self, op: str, **args: Any) -> Any:
        try:
            result = self.session.dispatch(op, decode(encode(args)))
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise _unpack_error(describe_exception(exc)) from None
        return decode(encode(result))
